#!/usr/bin/env node
// `npm run bench:scale`: the hot operations on a database that has lived
// (bench/scale-seed.mjs: 1 M users, 2 M sessions, 10 M refresh tokens, 10 M
// security events, mails) against the same build on an empty database, in
// alternating rounds at fixed, unsaturated rates, so latency is service time
// and not a queue. The verdict per operation: p99 on the big database
// within 1.25x of p99 on the empty one (each side's latencies pooled over
// its rounds).
//
// Then:
// - plans: the operations once more against the big database with
//   auto_explain on (ANALYZE, BUFFERS, nested statements), read back from
//   PostgreSQL's log: every statement the app sent, with its plan; a
//   sequential scan of a big table is flagged;
// - cleanup: the retention cleanup (when the build has one) against the big
//   database's backlog, with the same operations measured while it runs
//   against the same database at rest; the backlog's drain in rows/s.
//
// Environment:
//   BENCH_SCALE            size factor of the seeded database (1; 0.01 for a smoke run)
//   BENCH_SCALE_ROUNDS     alternating rounds per operation (6)
//   BENCH_SCALE_ROUND_S    seconds per round (3; login and requestPasswordReset twice that)
//   BENCH_SCALE_RESEED=1   build the template database again
//   BENCH_SCALE_ONLY       comma list of operations (me,refreshToken,login,sessions,
//                          securityEvents,auditEvents,auditEventsDeep,requestPasswordReset)
//   BENCH_SCALE_PHASES     comma list: compare,plans,cleanup (all)
//   BENCH_CLEANUP_CMD      command that runs the retention cleanup once (DATABASE_URL set);
//                          default: node dist/src/cli/cleanup.js when the build has it
//   BENCH_CLEANUP_MAX_S    stop the cleanup after this long (600): the drain rate is known by then
//   BENCH_CLEANUP_ROUNDS   rounds per operation at rest and again while the cleanup runs (4)
//   BENCH_PG_LOG           PostgreSQL's log file (/var/log/postgresql/postgresql-15-main.log)
//   BENCH_PG_URL, BCRYPT_ROUNDS (12), BENCH_SKIP_BUILD=1
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  apiNodeFlags,
  benchServerEnv,
  BENCH_PASSWORD,
  createBenchDatabase,
  freePort,
  gql,
  LOGIN_QUERY,
  ME_QUERY,
  REFRESH_QUERY,
  REGISTER_QUERY,
  round,
  seedRefreshChains,
  sleep,
  startMailSink,
  startNode,
  stopChild,
  waitHealthy,
} from './lib/common.mjs';
import { httpClient, latencySummary, openLoop } from './lib/openloop.mjs';
import {
  cloneScaleTemplate,
  ensureScaleTemplate,
  SCALE_PASSWORD,
  scaleEmail,
  scaleSizes,
} from './scale-seed.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const FACTOR = Number(env.BENCH_SCALE ?? 1);
const ROUNDS = Number(env.BENCH_SCALE_ROUNDS ?? 6);
const ROUND_S = Number(env.BENCH_SCALE_ROUND_S ?? 3);
const PG_ADMIN = env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const PG_LOG = env.BENCH_PG_LOG ?? '/var/log/postgresql/postgresql-15-main.log';
const BCRYPT = Number(env.BCRYPT_ROUNDS ?? 12);
const ONLY = env.BENCH_SCALE_ONLY ? new Set(env.BENCH_SCALE_ONLY.split(',')) : null;
const PHASES = new Set((env.BENCH_SCALE_PHASES ?? 'compare,plans,cleanup').split(','));
const TARGET = 1.25;
const CLEANUP_MAX_S = Number(env.BENCH_CLEANUP_MAX_S ?? 600);
const CLEANUP_ROUNDS = Number(env.BENCH_CLEANUP_ROUNDS ?? 4);
const USERS_PER_SIDE = 8;
const log = (...a) => console.error('[scale]', ...a);

const SESSIONS_QUERY =
  'query Sessions { sessions { id userAgent ip createdAt lastUsedAt expiresAt current } }';
const SECURITY_EVENTS_QUERY =
  'query SecurityEvents($first: Int, $after: ID) { securityEvents(first: $first, after: $after) { id type userId sessionId ip userAgent createdAt } }';
const AUDIT_EVENTS_QUERY =
  'query AuditEvents($first: Int, $after: ID, $userId: ID, $type: SecurityEventType) { auditEvents(first: $first, after: $after, userId: $userId, type: $type) { id type userId sessionId ip createdAt } }';
const REQUEST_RESET_QUERY =
  'mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }';

/** The operations: rate (req/s) and how one request is made for a side. */
const OPERATIONS = [
  { name: 'me', rate: 100, make: (s, i) => ({ query: ME_QUERY, token: s.user(i).token }) },
  { name: 'refreshToken', rate: 50, chain: true },
  {
    name: 'login',
    rate: 3,
    long: true,
    make: (s, i) => ({
      query: LOGIN_QUERY,
      variables: { input: { email: s.loginEmail(i), password: s.password } },
    }),
  },
  {
    name: 'sessions',
    rate: 50,
    make: (s, i) => ({ query: SESSIONS_QUERY, token: s.user(i).token }),
  },
  {
    name: 'securityEvents',
    rate: 50,
    make: (s, i) => ({
      query: SECURITY_EVENTS_QUERY,
      variables: { first: 20 },
      token: s.user(i).token,
    }),
  },
  {
    name: 'auditEvents',
    rate: 30,
    make: (s) => ({ query: AUDIT_EVENTS_QUERY, variables: { first: 20 }, token: s.admin.token }),
  },
  {
    name: 'auditEventsDeep',
    rate: 30,
    make: (s) => ({
      query: AUDIT_EVENTS_QUERY,
      variables: { first: 20, after: s.deepAfter },
      token: s.admin.token,
    }),
  },
  {
    name: 'requestPasswordReset',
    rate: 5,
    long: true,
    make: (s, i) => ({ query: REQUEST_RESET_QUERY, variables: { email: s.user(i).email } }),
  },
].filter((o) => !ONLY || ONLY.has(o.name));

const children = new Set();
const track = (c) => (children.add(c), c.exited.then(() => children.delete(c)), c);

async function startApi(dbUrl, secret, extra = {}) {
  const port = await freePort();
  const child = track(
    startNode([...apiNodeFlags(), join(ROOT, 'dist/main.mjs')], {
      cwd: ROOT,
      name: 'api',
      env: benchServerEnv(port, {
        DATABASE_URL: dbUrl,
        JWT_ACCESS_SECRET: secret,
        BCRYPT_ROUNDS: String(BCRYPT),
        // Tokens outlive the run (the plans and cleanup phases come after).
        ACCESS_TOKEN_TTL: '2h',
        // No cleanup inside the servers: the comparison is of the operations
        // alone; the cleanup phase runs it on its own, against the backlog.
        RETENTION_INTERVAL: '0',
        ...extra,
      }),
    }),
  );
  // The first start on a copy of the big template may build a new index.
  await waitHealthy(`http://127.0.0.1:${port}/health`, { child, timeoutMs: 30 * 60_000 });
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

/** One GraphQL request through the side's client: { ok, ms, status, body }. */
async function send(side, { query, variables, token }) {
  const r = await side.client.request({
    body: JSON.stringify({ query, variables }),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { ...r, ok: r.status === 200 && !r.body.includes('"errors"') };
}

/** Whether the build serves an operation (a validation error means it does not). */
async function available(side, op) {
  const r = await fireOp(side, op, 0);
  if (r.ok) return true;
  if (/GRAPHQL_VALIDATION_FAILED|Cannot query field|Unknown type/.test(r.body)) return false;
  throw new Error(`${op.name} failed on the ${side.name} database: ${r.status} ${r.body}`);
}

function fireOp(side, op, i) {
  if (!op.chain) return send(side, op.make(side, i));
  // refreshToken: each chain's next token goes back to the pool when answered.
  const token = side.chainPool.pop() ?? side.nextSeed();
  return send(side, { query: REFRESH_QUERY, variables: { input: { refreshToken: token } } }).then(
    (r) => {
      const next = r.ok ? /"refreshToken":"([^"]+)"/.exec(r.body)?.[1] : null;
      if (next) side.chainPool.push(next);
      return r;
    },
  );
}

/** Alternating rounds of `op` on each side; pooled latencies per side. */
async function compare(sides, op, rounds = ROUNDS) {
  const seconds = op.long ? 2 * ROUND_S : ROUND_S;
  const per = Object.fromEntries(sides.map((s) => [s.name, { ms: [], errors: 0, rounds: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? [...sides].reverse() : sides) {
      const { results, dropped } = await openLoop({
        rate: op.rate,
        seconds,
        fire: (i) => fireOp(side, op, r * 100_000 + i),
      });
      const ok = results.filter((x) => x.ok).map((x) => x.ms);
      const p = per[side.name];
      p.ms.push(...ok);
      p.errors += results.length - ok.length + dropped;
      p.rounds.push(latencySummary(ok).p99);
      if (results.length - ok.length) {
        const bad = results.find((x) => !x.ok);
        p.firstError ??= `${bad.status} ${String(bad.body).slice(0, 300)}`;
      }
    }
  }
  return Object.fromEntries(
    Object.entries(per).map(([k, v]) => [
      k,
      { ...latencySummary(v.ms), errors: v.errors, roundP99: v.rounds, firstError: v.firstError },
    ]),
  );
}

/** Logs in (big) or registers (empty) the side's users; the first one is the ADMIN. */
async function prepareSide(side, { seeded }) {
  side.users = [];
  if (seeded) {
    const U = scaleSizes(FACTOR).users;
    // user1 (the ADMIN) and users spread from the oldest to the newest.
    const picks = [
      1,
      ...Array.from({ length: USERS_PER_SIDE - 1 }, (_, j) =>
        Math.max(2, Math.round(((j + 1) * U) / USERS_PER_SIDE)),
      ),
    ];
    side.password = SCALE_PASSWORD;
    for (const i of picks) {
      const r = await gql(side.url, LOGIN_QUERY, {
        input: { email: scaleEmail(i), password: SCALE_PASSWORD },
      });
      side.users.push({
        email: scaleEmail(i),
        token: r.body.data.login.accessToken,
        userId: r.body.data.login.user.id,
      });
    }
  } else {
    side.password = BENCH_PASSWORD;
    for (let j = 0; j < USERS_PER_SIDE; j++) {
      const email = `scale-${randomBytes(4).toString('hex')}@example.com`;
      const r = await gql(side.url, REGISTER_QUERY, {
        input: { email, password: BENCH_PASSWORD },
      });
      side.users.push({
        email,
        token: r.body.data.register.accessToken,
        userId: r.body.data.register.user.id,
      });
    }
    await side.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [side.users[0].userId]);
  }
  // Logins go to users of their own: past AUTH_MAX_SESSIONS live sessions a
  // login revokes the least recently used, which could end a measured token.
  if (seeded) {
    const U = scaleSizes(FACTOR).users;
    side.loginEmails = Array.from({ length: USERS_PER_SIDE }, (_, j) =>
      scaleEmail(Math.max(2, Math.round(((j + 0.5) * U) / USERS_PER_SIDE))),
    );
  } else {
    side.loginEmails = [];
    for (let j = 0; j < USERS_PER_SIDE; j++) {
      const email = `scale-login-${randomBytes(4).toString('hex')}@example.com`;
      await gql(side.url, REGISTER_QUERY, { input: { email, password: BENCH_PASSWORD } });
      side.loginEmails.push(email);
    }
  }
  side.loginEmail = (i) => side.loginEmails[i % side.loginEmails.length];
  side.admin = side.users[0];
  side.user = (i) => side.users[i % side.users.length];
  // A deep page: after the event half-way down the log, newest first.
  const half = await side.db.query(
    `SELECT id FROM security_events ORDER BY id DESC
      OFFSET (SELECT count(*) / 2 FROM security_events) LIMIT 1`,
  );
  side.deepAfter = half.rows[0]?.id ?? side.admin.userId;
  // The refresh chains belong to a user of their own: as sessions of a
  // measured user they would make its `sessions` list 20,000 long.
  const chainUser = (
    await side.db.query(
      `SELECT id FROM users WHERE id <> ALL($1::uuid[]) AND email <> ALL($2::text[])
        ORDER BY created_at DESC LIMIT 1`,
      [side.users.map((u) => u.userId), side.loginEmails],
    )
  ).rows[0];
  let chainUserId = chainUser?.id;
  if (!chainUserId) {
    const r = await gql(side.url, REGISTER_QUERY, {
      input: {
        email: `chains-${randomBytes(4).toString('hex')}@example.com`,
        password: BENCH_PASSWORD,
      },
    });
    chainUserId = r.body.data.register.user.id;
  }
  side.nextSeed = await seedRefreshChains(side.db, chainUserId, 20_000);
  side.chainPool = [];
}

/** Bytes appended to a file since `offset`. */
function readFrom(file, offset) {
  const size = statSync(file).size;
  const buf = Buffer.alloc(Math.max(0, size - offset));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, offset);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8');
}

/** auto_explain entries of database `db` in a slice of PostgreSQL's log: { ms, text, plan }. */
function parsePlans(logText, db) {
  const entries = [];
  let cur = null;
  for (const line of logText.split('\n')) {
    if (cur && line.startsWith('\t')) {
      cur.lines.push(line.slice(1));
      continue;
    }
    cur = null;
    const m = new RegExp(`@${db} LOG:  duration: ([\\d.]+) ms  plan:`).exec(line);
    if (m) {
      cur = { ms: Number(m[1]), lines: [] };
      entries.push(cur);
    }
  }
  // "Query Text: ..." (the statement, over as many lines as it has), then
  // the plan, whose first line is the root node with its costs.
  return entries.map((e) => {
    const start = e.lines.findIndex((l) => l.includes('(cost='));
    const text = (start < 0 ? e.lines : e.lines.slice(0, start)).join('\n');
    return {
      ms: e.ms,
      query: text
        .replace(/^Query Text: /, '')
        .replace(/\s+/g, ' ')
        .trim(),
      plan: start < 0 ? '' : e.lines.slice(start).join('\n'),
    };
  });
}

/** Sequential scans of tables with more than `minRows` rows in a plan. */
function bigScans(plan, sizes) {
  const found = [];
  for (const m of plan.matchAll(/Seq Scan on (\w+)/g)) {
    if ((sizes[m[1]] ?? 0) > 10_000) found.push(m[1]);
  }
  return found;
}

async function main() {
  const started = Date.now();
  await startMailSink();
  const sha =
    spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).stdout?.toString().trim() ||
    'nogit';
  const results = {
    date: new Date().toISOString(),
    git: { sha },
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      loadAvgAtStart: loadavg().map((x) => round(x, 2)),
    },
    settings: {
      factor: FACTOR,
      sizes: scaleSizes(FACTOR),
      rounds: ROUNDS,
      roundS: ROUND_S,
      bcryptRounds: BCRYPT,
    },
    operations: {},
    targets: {},
  };
  if (env.BENCH_SKIP_BUILD !== '1') {
    log('npm run build');
    const b = spawnSync('npm', ['run', 'build'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const t0 = Date.now();
  const template = await ensureScaleTemplate({
    adminUrl: PG_ADMIN,
    factor: FACTOR,
    force: env.BENCH_SCALE_RESEED === '1',
    bcryptRounds: BCRYPT,
    log: (m) => log(m),
  });
  results.templateReadyS = round((Date.now() - t0) / 1000, 0);
  const secret = randomBytes(32).toString('base64url');
  const dbs = [];
  const sides = [];
  try {
    const t1 = Date.now();
    const bigDb = await cloneScaleTemplate(PG_ADMIN, template);
    dbs.push(bigDb);
    results.cloneS = round((Date.now() - t1) / 1000, 1);
    const emptyDb = await createBenchDatabase(PG_ADMIN, 'bench_scale_empty');
    dbs.push(emptyDb);
    log(
      `databases: big ${bigDb.name} (copy of ${template}, ${results.cloneS} s), empty ${emptyDb.name}`,
    );
    for (const [name, db] of [
      ['empty', emptyDb],
      ['big', bigDb],
    ]) {
      const api = await startApi(db.url, secret);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const side = { name, dbInfo: db, api, url: api.url, db: client, client: httpClient(api.url) };
      await prepareSide(side, { seeded: name === 'big' });
      sides.push(side);
      log(`${name}: API up, ${side.users.length} users ready`);
    }
    const [empty, big] = sides;
    // Table sizes from the catalog (reltuples, set by the template's ANALYZE):
    // a copy of a database starts with empty activity statistics.
    const sizes = Object.fromEntries(
      (
        await big.db.query(
          `SELECT relname, reltuples::bigint AS n FROM pg_class
            WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`,
        )
      ).rows.map((r) => [r.relname, Number(r.n)]),
    );
    results.bigTableRows = sizes;

    const ops = [];
    for (const op of OPERATIONS) {
      if ((await available(empty, op)) && (await available(big, op))) ops.push(op);
      else {
        log(`${op.name}: not served by this build, skipped`);
        results.operations[op.name] = { skipped: 'not served by this build' };
      }
    }

    // --- the comparison ----------------------------------------------------
    if (PHASES.has('compare')) {
      for (const op of ops) {
        log(`${op.name}: ${op.rate} req/s, ${ROUNDS} alternating rounds`);
        const r = await compare(sides, op);
        const ratio = r.empty.p99 && r.big.p99 ? round(r.big.p99 / r.empty.p99, 3) : null;
        results.operations[op.name] = {
          rate: op.rate,
          empty: r.empty,
          big: r.big,
          p99Ratio: ratio,
        };
        results.targets[op.name] = {
          target: `p99 on the big database <= ${TARGET}x p99 on the empty one, 0 errors`,
          pass: ratio !== null && ratio <= TARGET && r.empty.errors === 0 && r.big.errors === 0,
        };
      }
    }

    // --- plans ---------------------------------------------------------------
    if (PHASES.has('plans')) {
      if (!existsSync(PG_LOG)) {
        results.plans = { skipped: `no PostgreSQL log at ${PG_LOG} (BENCH_PG_LOG)` };
      } else {
        log('plans: auto_explain on the big database');
        const admin = new pg.Client({ connectionString: PG_ADMIN });
        await admin.connect();
        const name = big.dbInfo.name;
        await admin.query(`ALTER DATABASE ${name} SET session_preload_libraries = 'auto_explain'`);
        for (const [k, v] of [
          ['log_min_duration', '0'],
          ['log_analyze', 'on'],
          ['log_buffers', 'on'],
          ['log_nested_statements', 'on'],
          ['log_timing', 'on'],
        ])
          await admin.query(`ALTER DATABASE ${name} SET auto_explain.${k} = '${v}'`);
        const offset = statSync(PG_LOG).size;
        const explained = await startApi(big.dbInfo.url, secret);
        const side = { ...big, url: explained.url, client: httpClient(explained.url) };
        const byOp = {};
        for (const op of ops) {
          const from = statSync(PG_LOG).size;
          // Twice: the second run of a prepared statement is the steady one.
          for (let i = 0; i < 2; i++) await fireOp(side, op, 7 + i);
          await sleep(300);
          for (const p of parsePlans(readFrom(PG_LOG, from), name)) {
            if (/^(BEGIN|COMMIT|SELECT 1|SET |SHOW )/i.test(p.query)) continue;
            // The mail worker's poll runs on its own schedule, whatever the operation.
            const key = /^UPDATE mail_outbox SET next_attempt_at/.test(p.query)
              ? 'background: mail worker'
              : op.name;
            (byOp[key] ??= []).push(p);
          }
        }
        side.client.close();
        await stopChild(explained.child);
        await admin.query(`ALTER DATABASE ${name} RESET ALL`);
        await admin.end();
        const scans = [];
        for (const [op, plans] of Object.entries(byOp))
          for (const p of plans)
            for (const t of bigScans(p.plan, sizes)) scans.push({ op, table: t, query: p.query });
        results.plans = { logOffset: offset, byOperation: byOp, bigTableScans: scans };
        results.targets.plans = {
          target: 'no sequential scan of a table over 10,000 rows in the hot statements',
          pass: scans.length === 0,
        };
      }
    }

    // --- cleanup -------------------------------------------------------------
    if (PHASES.has('cleanup')) results.cleanup = await cleanupPhase(big, ops);
    if (results.cleanup?.target) results.targets.cleanup = results.cleanup.target;
  } finally {
    for (const s of sides) {
      s.client.close();
      await s.db.end().catch(() => {});
    }
    for (const c of children) await stopChild(c, 5000);
    for (const d of dbs) await d.drop().catch((e) => log(`drop failed: ${e.message}`));
  }

  results.totalSeconds = round((Date.now() - started) / 1000, 0);
  results.machine.loadAvgAtEnd = loadavg().map((x) => round(x, 2));
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `${results.date.slice(0, 10)}-${sha}-scale${FACTOR === 1 ? '' : `-x${FACTOR}`}.json`,
  );
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  if (FACTOR === 1 && !ONLY && PHASES.size === 3)
    writeFileSync(join(dir, 'latest-scale.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (results.plans?.byOperation) {
    const md = file.replace(/\.json$/, '-plans.md');
    writeFileSync(md, plansMarkdown(results));
    console.log(`plans: ${md.replace(`${ROOT}/`, '')}`);
  }
  printTable(results);
  console.log(`\nwritten: ${file.replace(`${ROOT}/`, '')}`);
}

/**
 * The retention cleanup against the big database's backlog: the operations
 * measured while it runs, against the same database at rest just before;
 * rows deleted per second from pg_stat_user_tables (n_tup_del).
 */
async function cleanupPhase(big, ops) {
  const command =
    env.BENCH_CLEANUP_CMD ??
    (existsSync(join(ROOT, 'dist/src/cli/cleanup.js'))
      ? `node ${join(ROOT, 'dist/src/cli/cleanup.js')}`
      : null);
  if (!command) {
    log('cleanup: this build has no cleanup command (dist/src/cli/cleanup.js, BENCH_CLEANUP_CMD)');
    return { skipped: 'no cleanup command in this build' };
  }
  const deleted = async () =>
    Number(
      (await big.db.query('SELECT sum(n_tup_del)::bigint AS n FROM pg_stat_user_tables')).rows[0].n,
    );
  const measureAll = async () => {
    const out = {};
    for (const op of ops) {
      const r = await compare([big], op, CLEANUP_ROUNDS);
      out[op.name] = r.big;
    }
    return out;
  };
  log('cleanup: the operations at rest on the big database');
  const atRest = await measureAll();
  const before = await deleted();
  const t0 = Date.now();
  log(`cleanup: ${command}`);
  const proc = spawn('sh', ['-c', command], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...benchServerEnv(0, {
        DATABASE_URL: big.dbInfo.url,
        JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  proc.stdout.on('data', (d) => tail.push(String(d)));
  proc.stderr.on('data', (d) => tail.push(String(d)));
  const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  log('cleanup: the operations while it runs');
  const during = await measureAll();
  const runningAfterMeasure = proc.exitCode === null;
  const limit = setTimeout(
    () => proc.kill('SIGTERM'),
    Math.max(0, CLEANUP_MAX_S * 1000 - (Date.now() - t0)),
  );
  const code = await exited;
  clearTimeout(limit);
  const seconds = (Date.now() - t0) / 1000;
  await sleep(1000); // statistics are reported at the end of each transaction, with a delay
  const rows = (await deleted()) - before;
  const compared = Object.fromEntries(
    ops.map((op) => [
      op.name,
      {
        atRestP99: atRest[op.name].p99,
        duringP99: during[op.name].p99,
        ratio: atRest[op.name].p99 ? round(during[op.name].p99 / atRest[op.name].p99, 3) : null,
        atRestRoundP99: atRest[op.name].roundP99,
        duringRoundP99: during[op.name].roundP99,
        errorsDuring: during[op.name].errors,
      },
    ]),
  );
  const worst = Math.max(...Object.values(compared).map((c) => c.ratio ?? 0));
  // The cleanup's own account when it finished: rows per table and its time.
  let own = null;
  for (const line of tail.join('').split('\n')) {
    try {
      const j = JSON.parse(line);
      if (j.event === 'retention') own = j;
    } catch {
      /* not its JSON line */
    }
  }
  const ownRows = own
    ? Object.entries(own)
        .filter(([k, v]) => k !== 'event' && k !== 'ms' && typeof v === 'number')
        .reduce((a, [, v]) => a + v, 0)
    : null;
  return {
    command,
    exitCode: code,
    stoppedAfterMaxS: code === null || (code !== 0 && (Date.now() - t0) / 1000 >= CLEANUP_MAX_S),
    runningThroughTheMeasurement: runningAfterMeasure,
    seconds: round(seconds, 1),
    rowsDeleted: rows,
    rowsPerSecond: round(rows / seconds, 0),
    // From its own report (deleting only, without the process's start).
    reported: own,
    reportedRowsPerSecond: own?.ms ? round((ownRows * 1000) / own.ms, 0) : null,
    output: tail.join('').split('\n').slice(-20),
    operations: compared,
    target: {
      target: `every operation's p99 while the cleanup runs <= ${TARGET}x its p99 at rest (the cleanup still running at the end of the measurement)`,
      pass: runningAfterMeasure && worst <= TARGET,
    },
  };
}

/**
 * The plans as Markdown, per operation: each distinct statement once, with
 * the plan of its last (warm) execution.
 */
function plansMarkdown(r) {
  const out = [
    `# Plans on the big database (${r.git.sha}, x${r.settings.factor})`,
    '',
    'auto_explain (ANALYZE, BUFFERS, nested statements) of each operation, second run.',
  ];
  for (const [op, plans] of Object.entries(r.plans.byOperation)) {
    out.push('', `## ${op}`);
    const byText = new Map();
    for (const p of plans) byText.set(p.query, p);
    for (const p of byText.values())
      out.push('', '```sql', p.query, '```', '', '```', `(${p.ms} ms)`, p.plan, '```');
  }
  return `${out.join('\n')}\n`;
}

function printTable(r) {
  const out = [];
  out.push(`\nauth-api scale benchmark — ${r.date} — ${r.git.sha}`);
  out.push(
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}; load avg ${r.machine.loadAvgAtStart.join(' ')} -> ${r.machine.loadAvgAtEnd.join(' ')}`,
  );
  const z = r.settings.sizes;
  out.push(
    `big database (x${r.settings.factor}): ${z.users} users, ${z.users * z.sessionsPerUser} sessions, ${z.users * z.sessionsPerUser * z.tokensPerSession} refresh tokens, ${z.events} security events, ${z.sentMails + z.pendingMails} mails; ${r.settings.rounds} alternating rounds of ${r.settings.roundS} s`,
  );
  out.push(
    `\n${'operation'.padEnd(22)} ${'req/s'.padStart(5)}  empty p50/p99 ms   big p50/p99 ms    p99 ratio  errors`,
  );
  for (const name of OPERATIONS.map((o) => o.name)) {
    const o = r.operations[name];
    if (!o) continue;
    if (o.skipped) {
      out.push(`${name.padEnd(22)} (${o.skipped})`);
      continue;
    }
    out.push(
      `${name.padEnd(22)} ${String(o.rate).padStart(5)}  ${`${o.empty.p50} / ${o.empty.p99}`.padEnd(17)} ${`${o.big.p50} / ${o.big.p99}`.padEnd(17)} ${String(o.p99Ratio).padStart(9)}  ${o.empty.errors}/${o.big.errors}`,
    );
  }
  if (r.plans?.bigTableScans) {
    out.push(`\nplans: ${Object.values(r.plans.byOperation).flat().length} statements explained`);
    for (const s of r.plans.bigTableScans)
      out.push(`  SEQ SCAN of ${s.table} in ${s.op}: ${s.query.slice(0, 120)}`);
  } else if (r.plans?.skipped) out.push(`\nplans: ${r.plans.skipped}`);
  if (r.cleanup) {
    const c = r.cleanup;
    if (c.skipped) out.push(`\ncleanup: ${c.skipped}`);
    else {
      out.push(
        `\ncleanup: ${c.rowsDeleted} rows deleted in ${c.seconds} s = ${c.rowsPerSecond} rows/s (exit ${c.exitCode}${c.reportedRowsPerSecond ? `; ${c.reportedRowsPerSecond} rows/s by its own clock` : ''})`,
      );
      for (const [n, x] of Object.entries(c.operations))
        out.push(
          `  ${n.padEnd(22)} p99 at rest ${x.atRestP99} ms, during cleanup ${x.duringP99} ms (x${x.ratio})`,
        );
    }
  }
  out.push('\ntargets:');
  for (const [k, t] of Object.entries(r.targets))
    out.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${k.padEnd(22)} ${t.target}`);
  out.push(`\ntotal ${r.totalSeconds} s`);
  console.log(out.join('\n'));
}

main().catch(async (e) => {
  console.error(e instanceof Error ? e.stack : e);
  for (const c of children) await stopChild(c, 3000);
  process.exit(1);
});
