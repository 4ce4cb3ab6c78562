// Helpers shared by the benchmark scripts: processes, ports, HTTP, GraphQL, RSS.
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export { sleep };

/**
 * The Node flags `npm start` runs the server with (package.json's start
 * script), so that the bench runs the API as its users do.
 */
export function apiNodeFlags() {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return pkg.scripts.start.split(/\s+/).filter((a) => a.startsWith('--'));
}

/** A free loopback TCP port (listen on 0, close, reuse the number). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a node process. Its stdout and stderr go to a file (its last 200
 * lines are `child.tail`, to show a failure), not to a pipe read here: the
 * load generator runs in this process, and reading and splitting the API's
 * log lines (one per request) in it took CPU from the load itself, which
 * showed as a lower rate for the side that logs (the API, not the baselines).
 * `pipe: true` keeps a pipe on stdout, for a child whose output is its result.
 * Resolves the child at once.
 */
let outDir;
let outCount = 0;
export function startNode(args, { env = {}, cwd, name = 'child', pipe = false } = {}) {
  if (!outDir) {
    outDir = mkdtempSync(join(tmpdir(), 'bench-out-'));
    // Kept while this process runs (a failure message may read a tail), then removed.
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
  }
  const file = join(outDir, `${++outCount}-${name.replace(/[^\w.-]/g, '_')}.log`);
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', pipe ? 'pipe' : fd, fd],
  });
  closeSync(fd);
  Object.defineProperty(child, 'tail', {
    get: () => {
      try {
        return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-200);
      } catch {
        return [];
      }
    },
  });
  child.benchName = name;
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, sig })),
  );
  return child;
}

/** Sends SIGTERM, then SIGKILL after `ms` if it is still there. */
export async function stopChild(child, ms = 5000, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await child.exited;
  clearTimeout(t);
}

/** Polls `url` until it answers 200; returns the elapsed ms. Throws after `timeoutMs`. */
export async function waitHealthy(
  url,
  { timeoutMs = 60_000, child, intervalMs = 20, anyStatus = false } = {},
) {
  const t0 = performance.now();
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `${child.benchName} exited (${child.exitCode ?? child.signalCode}) before ${url} was healthy:\n${child.tail.join('\n')}`,
      );
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200 || anyStatus) return performance.now() - t0;
    } catch {
      /* not up yet */
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(
        `${url} not healthy after ${timeoutMs} ms${child ? `:\n${child.tail.join('\n')}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

/** One GraphQL POST; returns { status, body }. Throws on GraphQL errors unless `allowErrors`. */
export async function gql(url, query, variables, { token, allowErrors = false } = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (!allowErrors && (r.status !== 200 || body.errors)) {
    throw new Error(`GraphQL ${r.status}: ${JSON.stringify(body.errors ?? body)}`);
  }
  return { status: r.status, body };
}

/**
 * A /proc/<pid>/stat line as its command and its user+system CPU in ms
 * (clock ticks of 10 ms). The command is between the first `(` and the last
 * `) `: it may itself hold spaces or parentheses.
 */
function parseStat(stat) {
  const close = stat.lastIndexOf(') ');
  const f = stat.slice(close + 2).split(' ');
  return {
    command: stat.slice(stat.indexOf('(') + 1, close),
    ms: (Number(f[11]) + Number(f[12])) * 10,
  };
}

/** user+system CPU of a process in ms. */
export function cpuMs(pid) {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ms;
}

/**
 * CPU ms of every process on this machine whose command is `name` (e.g. the
 * local PostgreSQL's server and backends), by pid, from /proc: what a
 * scenario costs the database when it runs on the same machine. See
 * cpuMsSince for the difference between two readings.
 */
export function cpuMsOfCommand(name) {
  const byPid = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const { command, ms } = parseStat(readFileSync(`/proc/${d}/stat`, 'utf8'));
      if (command === name) byPid.set(d, ms);
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}

/**
 * CPU ms spent since `before` (a cpuMsOfCommand reading) by the processes
 * alive now; a process that ended in between is left out (its CPU is lost),
 * so this may under-count, never go negative.
 */
export function cpuMsSince(before, name) {
  let ms = 0;
  for (const [pid, now] of cpuMsOfCommand(name)) ms += now - (before.get(pid) ?? 0);
  return ms;
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (null when gone). */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export const round = (x, d = 1) => (x == null || Number.isNaN(x) ? null : Number(x.toFixed(d)));
export const ratio = (a, b) => (a && b ? Number((a / b).toFixed(3)) : null);

/** Sessions + first refresh tokens inserted directly, so each connection has its own chain. */
export async function seedRefreshChains(client, userId, n) {
  const tokens = [];
  const expires = new Date(Date.now() + 7 * 86_400_000);
  const sessions = [];
  const rts = [];
  for (let i = 0; i < n; i++) {
    const sid = randomUUID();
    const token = randomBytes(32).toString('base64url');
    tokens.push(token);
    sessions.push([sid, userId, expires]);
    rts.push([randomUUID(), sid, createHash('sha256').update(token).digest('hex'), expires]);
  }
  await client.query(
    `INSERT INTO sessions (id, user_id, expires_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])`,
    [sessions.map((s) => s[0]), sessions.map((s) => s[1]), sessions.map((s) => s[2])],
  );
  await client.query(
    `INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[])`,
    [rts.map((r) => r[0]), rts.map((r) => r[1]), rts.map((r) => r[2]), rts.map((r) => r[3])],
  );
  // Statistics for the seeded rows before a server plans a statement on them:
  // without them the connections of the side that ran first kept plans made
  // on none (PostgreSQL CPU per request x1.3), and an A/A run of one build
  // (bench/ab.mjs run refresh head head2) gave the second side 1.21 x the
  // first's req/s; 1.03 x with them.
  await client.query('ANALYZE sessions, refresh_tokens');
  let i = 0;
  return () => {
    if (i >= tokens.length) throw new Error('ran out of seeded refresh tokens');
    return tokens[i++];
  };
}

/**
 * A database with a random name on the PostgreSQL server at `adminUrl`, for
 * one bench run: its URL, and drop() (also closes the admin connection).
 */
export async function createBenchDatabase(adminUrl, prefix = 'bench') {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** The GraphQL documents the bench scripts send. */
export const ME_QUERY = 'query Me { me { id email name role createdAt updatedAt } }';
export const LOGIN_QUERY =
  'mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }';
export const REGISTER_QUERY =
  'mutation Register($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }';
export const REFRESH_QUERY =
  'mutation Refresh($input: RefreshTokenInput) { refreshToken(input: $input) { accessToken refreshToken user { id } } }';
export const BENCH_PASSWORD = 'correct horse battery staple';

let secrets;
/**
 * What a production start requires besides the database and
 * JWT_ACCESS_SECRET, made once per bench process: an ES256 signing key
 * (PKCS#8 PEM; the framework-free baseline is given the same one) and the
 * key that encrypts TOTP secrets.
 */
export function productionSecrets() {
  secrets ??= {
    JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
  return secrets;
}

let mailSink;
/**
 * A local SMTP server that accepts every mail and drops it: production
 * needs SMTP_URL, and registrations and reset requests send mail. Started
 * once per bench process (in it: mails are few); benchServerEnv points
 * SMTP_URL at it once it runs.
 */
export async function startMailSink() {
  if (mailSink) return mailSink;
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.on('end', () => callback());
      stream.resume();
    },
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  server.server.unref();
  mailSink = { url: `smtp://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
  return mailSink;
}

/**
 * The environment of a bench server (the API or a baseline): production
 * mode on loopback, rate limits out of the way. `extra` adds the database,
 * the secret, BCRYPT_ROUNDS and any override.
 */
export function benchServerEnv(port, extra = {}) {
  return {
    NODE_ENV: 'production',
    ...productionSecrets(),
    ...(mailSink ? { SMTP_URL: mailSink.url } : {}),
    PORT: String(port),
    HOST: '127.0.0.1',
    AUTH_RATE_LIMIT: '1000000',
    // The in-memory limiter keeps one timestamp per counted call in the window
    // and filters that list on every call: in production the list is at most
    // AUTH_RATE_LIMIT (20) long, but with the limit lifted for the bench and
    // one client IP it holds every call of the window. The shortest window
    // keeps it to about one second of calls (still more than in production).
    // `1s`, not `1000`: a bare number is seconds (src/config/duration.ts), and
    // until round 5 the bench ran with a 1000 s window, the list growing all
    // run long (`pruneExpiredHits` was 30 % of the API's CPU after ~25,000
    // refreshes, and the refresh rounds slowed down one after another).
    AUTH_RATE_LIMIT_WINDOW: '1s',
    AUTH_LOGIN_MAX_FAILURES: '1000000',
    // Never inherit a .env / shell database: the bench picks its own.
    DATABASE_URL: '',
    ...extra,
  };
}

/** Registers a fresh user through the API at `url`; returns its access token and id. */
export async function registerBenchUser(url, prefix, name) {
  const reg = await gql(url, REGISTER_QUERY, {
    input: {
      email: `${prefix}-${randomBytes(4).toString('hex')}@example.com`,
      password: BENCH_PASSWORD,
      ...(name ? { name } : {}),
    },
  });
  const r = reg.body.data.register;
  return { token: r.accessToken, userId: r.user.id };
}

/**
 * Median of the round-by-round ratios xs[i] / ys[i] (two sides whose rounds
 * ran back to back, so a slow spell of the machine hits both of a pair).
 */
export function medianOfRatios(xs, ys) {
  return median(xs.map((x, i) => x / ys[i]));
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const importBuilt = (root, p) => import(new URL(p, `file://${root}/`).href);

/**
 * The app's own hash of `password` at bcrypt cost `rounds` (its
 * PasswordService from the build, with a test configuration): for users the
 * bench writes straight into the database.
 */
export async function appPasswordHash(root, password, rounds) {
  const { AppConfig } = await importBuilt(root, 'dist/src/config/app-config.js');
  const { parseEnv } = await importBuilt(root, 'dist/src/config/config.schema.js');
  const { PasswordService } = await importBuilt(root, 'dist/src/passwords/password.service.js');
  const secret = randomBytes(32).toString('base64url');
  const config = new AppConfig(
    parseEnv({ NODE_ENV: 'test', BCRYPT_ROUNDS: String(rounds), JWT_ACCESS_SECRET: secret }),
    tmpdir(),
    secret,
  );
  return new PasswordService(config).hash(password);
}

/**
 * How many bcrypt hashes the built server runs at once with this
 * environment (PASSWORD_HASH_CONCURRENCY, else its default for this machine).
 */
export async function serverHashConcurrency(root, env = process.env) {
  if (env.PASSWORD_HASH_CONCURRENCY) return Number(env.PASSWORD_HASH_CONCURRENCY);
  const m = await importBuilt(root, 'dist/src/config/app-config.js');
  return typeof m.defaultHashConcurrency === 'function' ? m.defaultHashConcurrency() : null;
}
