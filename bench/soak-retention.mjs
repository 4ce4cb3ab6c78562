#!/usr/bin/env node
// `npm run bench:soak`: bounded growth. The API on a fresh PostgreSQL
// database for BENCH_SOAK_S seconds (180) of continuous refreshes, `me` calls
// and logins, with short lifetimes and retention (refresh tokens and sessions
// live 20 s, ended sessions are kept 10 s after their expiry, security events
// 40 s, the cleanup runs every 5 s), so that what takes days in production
// happens in a minute: every table reaches its steady state within the first
// third of the run. Every 5 s the row counts of the tables that grow are
// read (and pg_stat's inserted/deleted counters).
//
// Two verdicts:
// - the row counts level off: the mean of each table over the last third of
//   the run is within 15 % of its mean over the middle third, while the rows
//   inserted keep growing (they would be the table's size without cleanup);
// - the cleanup does not slow the requests: `me` and `refreshToken` latency
//   of requests that overlapped a cleanup run (the server logs each run with
//   its duration) against the others of the same run (same table sizes).
//   Both sides are from one noisy machine: read them as provisional.
//
// Open-loop load (bench/lib/openloop.mjs): refreshes at BENCH_SOAK_REFRESH_RATE
// (40/s) over BENCH_SOAK_CHAINS chains (20), `me` at BENCH_SOAK_ME_RATE
// (20/s), logins at BENCH_SOAK_LOGIN_RATE (2/s) over 20 users.
//
// Environment: BENCH_SOAK_S, the rates above, BENCH_SOAK_ENV (more server
// variables, `A=1,B=2`), BENCH_PG_URL, BENCH_SKIP_BUILD=1, BENCH_SOAK_OUT
// (write the results as JSON there).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  apiNodeFlags,
  BENCH_PASSWORD,
  benchServerEnv,
  createBenchDatabase,
  freePort,
  LOGIN_QUERY,
  ME_QUERY,
  REFRESH_QUERY,
  REGISTER_QUERY,
  round,
  sleep,
  startMailSink,
  waitHealthy,
} from './lib/common.mjs';
import { httpClient, latencySummary, openLoop } from './lib/openloop.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const num = (k, d) => Number(env[k] ?? d);
const SECONDS = num('BENCH_SOAK_S', 180);
const REFRESH_RATE = num('BENCH_SOAK_REFRESH_RATE', 40);
const CHAINS = num('BENCH_SOAK_CHAINS', 20);
const ME_RATE = num('BENCH_SOAK_ME_RATE', 20);
const LOGIN_RATE = num('BENCH_SOAK_LOGIN_RATE', 2);
const LOGIN_USERS = 20;
const SAMPLE_MS = 5000;
const PG_URL = env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const TABLES = ['refresh_tokens', 'sessions', 'security_events'];
/** Short lifetimes and retention: days of production in minutes. */
const SERVER_ENV = {
  ACCESS_TOKEN_TTL: '20s',
  REFRESH_TOKEN_TTL: '20s',
  SESSION_RETENTION: '10s',
  AUDIT_RETENTION: '40s',
  MAIL_RETENTION: '20s',
  RETENTION_INTERVAL: '5s',
  BCRYPT_ROUNDS: '4',
  LOG_LEVEL: 'info',
  ...Object.fromEntries(
    (env.BENCH_SOAK_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  ),
};

const log = (m) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main() {
  if (!env.BENCH_SKIP_BUILD) {
    log('building');
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('build failed');
  }
  const db = await createBenchDatabase(PG_URL, 'soak');
  const work = mkdtempSync(join(tmpdir(), 'soak-'));
  const logFile = join(work, 'server.log');
  let server;
  const pgc = new pg.Client({ connectionString: db.url });
  try {
    const port = await freePort();
    await startMailSink();
    const fd = openSync(logFile, 'w');
    server = spawn(process.execPath, [...apiNodeFlags(), join(ROOT, 'dist/main.mjs')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...benchServerEnv(port, {
          DATABASE_URL: db.url,
          JWT_ACCESS_SECRET: randomBytes(48).toString('base64url'),
          ...SERVER_ENV,
        }),
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const url = `http://127.0.0.1:${port}/graphql`;
    await waitHealthy(`http://127.0.0.1:${port}/health`, { timeoutMs: 120_000 }).catch((e) => {
      throw new Error(
        `${e.message}\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`,
      );
    });
    await pgc.connect();
    const client = httpClient(url, { maxSockets: 128 });
    const call = async (query, variables, token) => {
      const r = await client.request({
        body: JSON.stringify({ query, variables }),
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      let body = null;
      try {
        body = JSON.parse(r.body);
      } catch {
        /* counted as an error */
      }
      return { ms: r.ms, ok: r.status === 200 && !!body?.data && !body.errors, body };
    };

    log(`server up; registering ${CHAINS} chain users and ${LOGIN_USERS} login users`);
    const chains = [];
    for (let i = 0; i < CHAINS; i++) {
      const r = await call(REGISTER_QUERY, {
        input: { email: `soak-chain-${i}@example.com`, password: BENCH_PASSWORD },
      });
      if (!r.ok) throw new Error(`register: ${JSON.stringify(r.body)}`);
      chains.push({
        token: r.body.data.register.refreshToken,
        access: r.body.data.register.accessToken,
        busy: false,
      });
    }
    for (let i = 0; i < LOGIN_USERS; i++) {
      const r = await call(REGISTER_QUERY, {
        input: { email: `soak-login-${i}@example.com`, password: BENCH_PASSWORD },
      });
      if (!r.ok) throw new Error(`register: ${JSON.stringify(r.body)}`);
    }

    // Row counts every SAMPLE_MS.
    const t0 = Date.now();
    const samples = [];
    const sample = async () => {
      const counts = {};
      for (const t of TABLES)
        counts[t] = Number((await pgc.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n);
      const stat = await pgc.query(
        `SELECT relname, n_tup_ins::bigint AS ins, n_tup_del::bigint AS del FROM pg_stat_user_tables WHERE relname = ANY($1)`,
        [TABLES],
      );
      const inserted = Object.fromEntries(stat.rows.map((r) => [r.relname, Number(r.ins)]));
      const deleted = Object.fromEntries(stat.rows.map((r) => [r.relname, Number(r.del)]));
      samples.push({ s: round((Date.now() - t0) / 1000, 0), counts, inserted, deleted });
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sample();
        await sleep(SAMPLE_MS);
      }
    })();

    log(
      `load for ${SECONDS} s: refresh ${REFRESH_RATE}/s over ${CHAINS} chains, me ${ME_RATE}/s, login ${LOGIN_RATE}/s`,
    );
    let next = 0;
    const refreshes = openLoop({
      rate: REFRESH_RATE,
      seconds: SECONDS,
      fire: async () => {
        // The next chain that is not waiting for an answer (a chain's token changes with each answer).
        let c;
        for (let k = 0; k < chains.length && !c; k++) {
          const x = chains[next++ % chains.length];
          if (!x.busy) c = x;
        }
        if (!c) return { ok: false, ms: 0, skipped: true, at: Date.now() };
        c.busy = true;
        const at = Date.now();
        const r = await call(REFRESH_QUERY, { input: { refreshToken: c.token } });
        c.busy = false;
        if (r.ok) {
          c.token = r.body.data.refreshToken.refreshToken;
          c.access = r.body.data.refreshToken.accessToken;
        }
        return {
          ok: r.ok,
          ms: r.ms,
          at,
          error: r.ok ? undefined : JSON.stringify(r.body?.errors?.[0]?.extensions ?? r.body),
        };
      },
    });
    const mes = openLoop({
      rate: ME_RATE,
      seconds: SECONDS,
      fire: async (i) => {
        const at = Date.now();
        const r = await call(ME_QUERY, {}, chains[i % chains.length].access);
        return { ok: r.ok, ms: r.ms, at };
      },
    });
    const logins = openLoop({
      rate: LOGIN_RATE,
      seconds: SECONDS,
      fire: async (i) => {
        const at = Date.now();
        const r = await call(LOGIN_QUERY, {
          input: { email: `soak-login-${i % LOGIN_USERS}@example.com`, password: BENCH_PASSWORD },
        });
        return { ok: r.ok, ms: r.ms, at };
      },
    });
    const [rf, me, li] = await Promise.all([refreshes, mes, logins]);
    sampling = false;
    await sampler;
    await sample();
    client.close();

    // The cleanup runs, from the server's log: each line is logged at its end, with its duration.
    const runs = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"event":"retention"'))
      .map((l) => JSON.parse(l))
      // pino's time is an ISO string (src/logging/logger.ts).
      .map((l) => ({ end: Date.parse(l.time), ms: Number(l.ms) }));
    const during = (at, ms) => runs.some((r) => at < r.end && at + ms > r.end - r.ms);
    const split = (results) => {
      const ok = results.filter((r) => r.ok && !r.skipped);
      const inRun = ok.filter((r) => during(r.at, r.ms)).map((r) => r.ms);
      const outside = ok.filter((r) => !during(r.at, r.ms)).map((r) => r.ms);
      return {
        errors: results.filter((r) => !r.ok && !r.skipped).length,
        skipped: results.filter((r) => r.skipped).length,
        duringCleanup: latencySummary(inRun),
        outsideCleanup: latencySummary(outside),
      };
    };
    const latency = {
      refreshToken: split(rf.results),
      me: split(me.results),
      login: split(li.results),
    };

    // Levelling off: the last third against the middle third.
    const third = Math.floor(samples.length / 3);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
    const level = Object.fromEntries(
      TABLES.map((t) => {
        const middle = mean(samples.slice(third, 2 * third).map((s) => s.counts[t]));
        const last = mean(samples.slice(2 * third).map((s) => s.counts[t]));
        const insertedDuringLast = samples.at(-1).inserted[t] - samples[2 * third].inserted[t];
        return [
          t,
          {
            middleThirdMean: round(middle, 0),
            lastThirdMean: round(last, 0),
            ratio: middle ? round(last / middle, 3) : null,
            insertedInLastThird: insertedDuringLast,
            insertedTotal: samples.at(-1).inserted[t],
            deletedTotal: samples.at(-1).deleted[t],
            levelsOff: middle > 0 && last / middle <= 1.15,
          },
        ];
      }),
    );
    const results = {
      date: new Date().toISOString(),
      git: spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
        cwd: ROOT,
        encoding: 'utf8',
      }).stdout.trim(),
      machine: { cpus: cpus().length, loadavg: loadavg().map((x) => round(x, 2)) },
      seconds: SECONDS,
      serverEnv: SERVER_ENV,
      rates: { refresh: REFRESH_RATE, me: ME_RATE, login: LOGIN_RATE, chains: CHAINS },
      cleanupRuns: {
        count: runs.length,
        msMedian: runs.length
          ? runs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(runs.length / 2)]
          : null,
        msMax: Math.max(0, ...runs.map((r) => r.ms)),
      },
      level,
      latency,
      samples,
      provisional: 'shared, noisy machine: smoke figures, not the final measurement',
    };
    print(results);
    if (env.BENCH_SOAK_OUT)
      writeFileSync(env.BENCH_SOAK_OUT, `${JSON.stringify(results, null, 2)}\n`);
    const pass = Object.values(level).every((l) => l.levelsOff);
    process.exitCode = pass ? 0 : 1;
  } finally {
    await pgc.end().catch(() => {});
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    await db.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

function print(r) {
  const out = [];
  out.push(
    `\nretention soak — ${r.date} — ${r.git} — ${r.seconds} s, load average ${r.machine.loadavg.join(' ')} on ${r.machine.cpus} cores (provisional)`,
  );
  out.push(`\nrow counts (every ${SAMPLE_MS / 1000} s):`);
  out.push(
    `  ${'s'.padStart(4)}  ${TABLES.map((t) => t.padStart(16)).join('')}   inserted so far (${TABLES.join(', ')})`,
  );
  for (const s of r.samples)
    out.push(
      `  ${String(s.s).padStart(4)}  ${TABLES.map((t) => String(s.counts[t]).padStart(16)).join('')}   ${TABLES.map((t) => s.inserted[t]).join(', ')}`,
    );
  out.push('\nlevels off (mean of the last third / mean of the middle third <= 1.15):');
  for (const [t, l] of Object.entries(r.level))
    out.push(
      `  ${t.padEnd(16)} ${String(l.middleThirdMean).padStart(8)} -> ${String(l.lastThirdMean).padStart(8)} (x${l.ratio}) while ${l.insertedInLastThird} rows were inserted: ${l.levelsOff ? 'yes' : 'NO'}`,
    );
  out.push(
    `\ncleanup runs: ${r.cleanupRuns.count}, median ${r.cleanupRuns.msMedian} ms, max ${r.cleanupRuns.msMax} ms`,
  );
  out.push('latency (ms) of requests that overlapped a cleanup run, against the others:');
  for (const [op, l] of Object.entries(r.latency))
    out.push(
      `  ${op.padEnd(13)} during n=${l.duringCleanup.n} p50 ${l.duringCleanup.p50} p99 ${l.duringCleanup.p99} | outside n=${l.outsideCleanup.n} p50 ${l.outsideCleanup.p50} p99 ${l.outsideCleanup.p99} | errors ${l.errors}${l.skipped ? `, not sent (chain busy) ${l.skipped}` : ''}`,
    );
  console.log(out.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
