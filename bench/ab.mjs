#!/usr/bin/env node
// A/B of two builds of the API on one PostgreSQL database, alternating.
//   npm run build && node bench/ab.mjs snap before     # copies dist/ to .ab/before
//   node bench/ab.mjs run me before after [rounds] [seconds]
//   (a side NAME~src runs that snapshot's unbundled dist/src/main.js)
// A side may add environment: `before:LOG_LEVEL=warn`, and node flags:
// `before:NODE_FLAGS=--single-threaded-gc`. The side `baseline` is the
// framework-free me/refreshToken (bench/baselines/apollo-pg.mjs). Scenario me,
// refresh or typename (AB_SESSIONS=50: `me` of 50 users, each its own
// session, one token per request in turn). AB_RATE=800 drives a fixed rate
// instead of saturating: then the server CPU µs per request is the figure to
// compare (steadier on a shared machine, no contention with the load
// generator).
// Both servers run at once (idle one costs nothing); each round drives one
// side, the order alternates, and every round's req/s is printed.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  apiNodeFlags,
  cpuMs,
  cpuMsOfCommand,
  cpuMsSince,
  median,
  benchServerEnv,
  createBenchDatabase,
  freePort,
  ME_QUERY,
  medianOfRatios,
  REFRESH_QUERY,
  registerBenchUser,
  seedRefreshChains,
  startMailSink,
  startNode,
  stopChild,
  waitHealthy,
} from './lib/common.mjs';
import { runGraphql, runRefreshChains } from './lib/load.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
await startMailSink();
const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'snap') {
  rmSync(join(ROOT, '.ab', args[0]), { recursive: true, force: true });
  cpSync(join(ROOT, 'dist'), join(ROOT, '.ab', args[0]), { recursive: true });
  process.exit(0);
}
const [scenario, ...rest] = args;
const sides = rest.filter((s) => !/^\d+$/.test(s));
const nums = rest.filter((s) => /^\d+$/.test(s)).map(Number);
const rounds = nums[0] ?? 3;
const seconds = nums[1] ?? 5;
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const database = await createBenchDatabase(PG_ADMIN, 'ab');
const dbUrl = database.url;
const secret = randomBytes(32).toString('base64url');
const servers = [];
try {
  for (const side of sides) {
    const [name, ...kv] = side.split(':');
    const extra = Object.fromEntries(
      kv.map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]),
    );
    const port = await freePort();
    // NAME runs the snapped build's bundle (dist/main.mjs, what `npm start`
    // runs) when it has one; NAME~src runs its unbundled tsc output.
    const [dir, flavour] = name.split('~');
    const entry =
      name === 'baseline'
        ? join(ROOT, 'bench/baselines/apollo-pg.mjs')
        : flavour === 'src' || !existsSync(join(ROOT, '.ab', dir, 'main.mjs'))
          ? join(ROOT, '.ab', dir, 'src/main.js')
          : join(ROOT, '.ab', dir, 'main.mjs');
    // `NODE_FLAGS=--a,--b` adds node flags to the side's command (V8 flags
    // that NODE_OPTIONS refuses).
    const flags = extra.NODE_FLAGS?.split(',') ?? [];
    delete extra.NODE_FLAGS;
    const child = startNode([...(name === 'baseline' ? [] : apiNodeFlags()), ...flags, entry], {
      cwd: ROOT,
      name: side,
      env: benchServerEnv(port, {
        DATABASE_URL: dbUrl,
        JWT_ACCESS_SECRET: secret,
        BCRYPT_ROUNDS: '4',
        ...extra,
      }),
    });
    // The baseline has no /health; any answer on /graphql means it is up.
    await waitHealthy(`http://127.0.0.1:${port}/${name === 'baseline' ? 'graphql' : 'health'}`, {
      child,
      anyStatus: name === 'baseline',
    });
    servers.push({ side, child, url: `http://127.0.0.1:${port}/graphql`, results: [] });
  }
  const apiUrl = servers.find((s) => !s.side.startsWith('baseline')).url;
  const { token, userId } = await registerBenchUser(apiUrl, 'ab');
  // AB_SESSIONS=N: `me` from N users, each request the next one's token (their
  // own sessions) instead of one token on every connection.
  const tokens = [];
  for (let i = 0; i < Number(process.env.AB_SESSIONS ?? 0); i++)
    tokens.push((await registerBenchUser(apiUrl, 'abs')).token);
  let nextSeed;
  if (scenario === 'refresh') {
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    nextSeed = await seedRefreshChains(db, userId, 20 * sides.length * (rounds + 1) + 20);
    await db.end();
  }
  const run = (s, duration) =>
    scenario === 'refresh'
      ? runRefreshChains({
          name: s.side,
          url: s.url,
          query: REFRESH_QUERY,
          nextSeed,
          connections: 20,
          duration,
        })
      : runGraphql({
          name: s.side,
          url: s.url,
          query: scenario === 'typename' ? 'query { __typename }' : ME_QUERY,
          token,
          tokens,
          connections: 50,
          duration,
          overallRate: process.env.AB_RATE ? Number(process.env.AB_RATE) : undefined,
        });
  for (const s of servers) await run(s, Number(process.env.AB_WARMUP_S ?? 2)); // warm-up
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? [...servers].reverse() : servers;
    for (const s of order) {
      const c0 = cpuMs(s.child.pid);
      const pg0 = cpuMsOfCommand('postgres');
      const l0 = process.cpuUsage();
      const r = await run(s, seconds);
      s.results.push(r.reqPerSec);
      (s.cpu ??= []).push(((cpuMs(s.child.pid) - c0) * 1000) / r.requests);
      // What the same requests cost PostgreSQL (when it runs here) and the
      // load generator: at saturation the three share this machine's cores.
      (s.pg ??= []).push((cpuMsSince(pg0, 'postgres') * 1000) / r.requests);
      const l = process.cpuUsage(l0);
      (s.loader ??= []).push((l.user + l.system) / r.requests);
      if (r.errors) console.log(`${s.side}: ${r.errors} errors`, r.errorDetail);
    }
  }
  // Paired with the first side round by round: median of the per-round ratios.
  const first = servers[0];
  for (const s of servers.slice(1)) {
    const rate = medianOfRatios(s.results, first.results);
    const cpu = medianOfRatios(s.cpu, first.cpu);
    const db = medianOfRatios(s.pg, first.pg);
    console.log(
      `${s.side} / ${first.side}: req/s x${rate.toFixed(3)}, CPU per request x${cpu.toFixed(3)}, PostgreSQL CPU per request x${db.toFixed(3)} (medians of per-round ratios)`,
    );
  }
  for (const s of servers) {
    console.log(
      `${s.side.padEnd(40)} best ${Math.max(...s.results)
        .toFixed(0)
        .padStart(
          6,
        )}  median ${median(s.results).toFixed(0).padStart(6)}  rounds ${s.results.map((x) => x.toFixed(0)).join(' ')}  server CPU µs/req ${s.cpu.map((x) => x.toFixed(0)).join(' ')}  PostgreSQL ${s.pg.map((x) => x.toFixed(0)).join(' ')}  load generator ${s.loader.map((x) => x.toFixed(0)).join(' ')}`,
    );
  }
} finally {
  for (const s of servers) await stopChild(s.child, 3000);
  await database.drop();
}
