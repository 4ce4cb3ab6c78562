// Baseline (a): a bare node:http server answering POST /graphql with the
// same JSON bytes as the API's `me` (given in BENCH_ME_BODY). The ceiling
// of this machine for a tiny JSON answer over keep-alive.
import { createServer } from 'node:http';

const body = Buffer.from(process.env.BENCH_ME_BODY ?? '{"data":{"me":{}}}');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
