// The peer of `npm run bench`: better-auth as its documentation sets it up
// for Node (toNodeHandler on node:http), email + password, PostgreSQL through
// a `pg` Pool, its own tables made by its own migrations (getMigrations() of
// better-auth/db/migration: its CLI needs Node 22). Made comparable with the
// API's settings: no cookie cache (every get-session reads the session and
// its user from the database, as the API's `me` checks its session), rate
// limits off (the API's are lifted for the bench too), no telemetry.
//
// Environment: PORT, DATABASE_URL, BETTER_AUTH_SECRET, DATABASE_POOL_SIZE (10,
// the API's default). Answers GET /health once migrated and listening.
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import pg from 'pg';

const env = process.env;
const port = Number(env.PORT);
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.DATABASE_POOL_SIZE ?? 10),
});

const auth = betterAuth({
  database: pool,
  secret: env.BETTER_AUTH_SECRET,
  baseURL: `http://127.0.0.1:${port}`,
  emailAndPassword: { enabled: true, autoSignIn: true },
  session: { cookieCache: { enabled: false } },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  handler(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`better-auth peer listening on ${port}`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  pool.end().finally(() => process.exit(0));
});
