import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
const body = JSON.stringify({ query: '{ me { id email name role } }' });
async function measure(platform, port) {
  const p = spawn(process.execPath, ['out/app.js', platform, String(port)], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((r) => p.stdout.once('data', r));
  const opts = {
    url: `http://127.0.0.1:${port}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
    body,
    connections: 50,
  };
  await autocannon({ ...opts, duration: 3 });
  const r = await autocannon({ ...opts, duration: 10 });
  p.kill();
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}
const res = { fastify: [], express: [] };
for (let round = 0; round < 2; round++) {
  for (const pl of ['express', 'fastify'])
    res[pl].push(await measure(pl, 4100 + round * 2 + (pl === 'fastify' ? 1 : 0)));
}
console.log(JSON.stringify(res, null, 1));
const best = (a) => Math.max(...a.map((x) => x.rps));
console.log(
  `express ${best(res.express)} req/s, fastify ${best(res.fastify)} req/s, fastify/express ${(best(res.fastify) / best(res.express)).toFixed(2)}`,
);
