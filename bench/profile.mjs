#!/usr/bin/env node
// `npm run bench -- --profile` or `node bench/profile.mjs [me|refresh|changePassword] [baseline]`:
// starts the built server (or, with `baseline`, the framework-free one of
// bench/baselines/apollo-pg.mjs) under `node --cpu-prof` on a fresh PostgreSQL
// database, drives the scenario for BENCH_PROFILE_S seconds (default 15),
// stops it so the profile is written, and prints the top self-time frames
// by function and by package. Summary: bench/results/profile-<scenario>.json.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { analyse } from './lib/cpuprofile.mjs';
import {
  apiNodeFlags,
  BENCH_PASSWORD,
  benchServerEnv,
  createBenchDatabase,
  freePort,
  ME_QUERY,
  REFRESH_QUERY,
  registerBenchUser,
  seedRefreshChains,
  startMailSink,
  startNode,
  stopChild,
  waitHealthy,
} from './lib/common.mjs';
import { runGraphql, runRefreshChains, runRefusals } from './lib/load.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const scenario = process.argv[2] ?? 'me';
const target = process.argv[3] === 'baseline' ? 'baseline' : 'api';
const seconds = Number(process.env.BENCH_PROFILE_S ?? 15);
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const log = (...a) => console.error('[profile]', ...a);
await startMailSink();

if (process.env.BENCH_SKIP_BUILD !== '1') {
  const b = spawnSync('npm', ['run', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (b.status !== 0) process.exit(1);
}

const database = await createBenchDatabase(PG_ADMIN);
const dbUrl = database.url;
const profDir = mkdtempSync(join(tmpdir(), 'bench-prof-'));
const secret = randomBytes(32).toString('base64url');
let api;
let profiled;
try {
  const env = (port) =>
    benchServerEnv(port, {
      DATABASE_URL: dbUrl,
      JWT_ACCESS_SECRET: secret,
      BCRYPT_ROUNDS: process.env.BCRYPT_ROUNDS ?? '12',
    });
  const profFlags = [
    '--import',
    join(ROOT, 'bench/lib/exit-on-signal.mjs'),
    '--cpu-prof',
    '--cpu-prof-dir',
    profDir,
  ];
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}/graphql`;
  // The API registers the user (the baseline has no register); it is the
  // profiled process unless the baseline is.
  api = startNode(
    [
      ...apiNodeFlags(),
      ...(target === 'api' ? profFlags : []),
      // BENCH_PROFILE_ENTRY=dist/src/main.js profiles the unbundled build.
      join(ROOT, process.env.BENCH_PROFILE_ENTRY ?? 'dist/main.mjs'),
    ],
    {
      cwd: ROOT,
      name: 'api',
      env: env(apiPort),
    },
  );
  await waitHealthy(`http://127.0.0.1:${apiPort}/health`, { child: api });
  let url = apiUrl;
  profiled = api;
  if (target === 'baseline') {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/graphql`;
    profiled = startNode([...profFlags, join(ROOT, 'bench/baselines/apollo-pg.mjs')], {
      cwd: ROOT,
      name: 'baseline',
      env: env(port),
    });
    await waitHealthy(url, { child: profiled, anyStatus: true });
  }
  const { token, userId } = await registerBenchUser(apiUrl, 'prof');
  let result;
  if (scenario === 'refresh') {
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const nextSeed = await seedRefreshChains(db, userId, 500);
    await db.end();
    log(`refresh load for ${seconds} s`);
    result = await runRefreshChains({
      name: 'refresh',
      url,
      query: REFRESH_QUERY,
      nextSeed,
      connections: 20,
      duration: seconds,
    });
  } else if (scenario === 'changePassword') {
    // bench:attack's attacker: a logged-in user sending 30-alias
    // changePassword(current = new) documents back to back, 4 connections.
    // Every answer is a refusal (equal password, then the per-user limit).
    const aliases = Array.from(
      { length: 30 },
      (_, i) =>
        `c${i}: changePassword(input: { currentPassword: "${BENCH_PASSWORD}", newPassword: "${BENCH_PASSWORD}" })`,
    ).join(' ');
    log(`changePassword documents for ${seconds} s`);
    result = await runRefusals({
      name: 'changePassword',
      url,
      query: `mutation { ${aliases} }`,
      token,
      connections: 4,
      duration: seconds,
    });
  } else {
    log(`me load for ${seconds} s`);
    result = await runGraphql({
      name: 'me',
      url,
      query: ME_QUERY,
      token,
      connections: 50,
      duration: seconds,
      // BENCH_PROFILE_RATE=800: a fixed rate instead of saturating.
      overallRate: process.env.BENCH_PROFILE_RATE
        ? Number(process.env.BENCH_PROFILE_RATE)
        : undefined,
    });
  }
  log(`${result.reqPerSec} req/s, p99 ${result.latencyMs.p99} ms, errors ${result.errors}`);
  profiled.kill('SIGWINCH');
  await profiled.exited;
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const summary = {
    scenario,
    target,
    date: new Date().toISOString(),
    load: result,
    ...analyse(join(profDir, file), 40),
  };
  writeFileSync(
    join(ROOT, `bench/results/profile-${scenario}${target === 'baseline' ? '-baseline' : ''}.json`),
    `${JSON.stringify(summary, null, 2)}\n`,
  );
  if (process.env.BENCH_KEEP_PROFILE)
    copyFileSync(join(profDir, file), process.env.BENCH_KEEP_PROFILE);
  console.log(
    `\nbusy ${summary.busyMs} ms, idle ${summary.idleMs} ms (${target} ${scenario}, ${result.reqPerSec} req/s, ${result.requests} requests)`,
  );
  // µs of CPU per request: comparable between the API and the baseline.
  const perReq = (ms) => ((ms * 1000) / result.requests).toFixed(0).padStart(4);
  console.log('\nself time by package/file:');
  for (const r of summary.byPackage.slice(0, 20))
    console.log(`  ${String(r.pct).padStart(5)}%  ${perReq(r.selfMs)} µs/req  ${r.frame}`);
  console.log('\ntop self-time functions:');
  for (const r of summary.topFunctions.slice(0, 30))
    console.log(`  ${String(r.pct).padStart(5)}%  ${perReq(r.selfMs)} µs/req  ${r.frame}`);
} finally {
  if (profiled !== api) await stopChild(profiled, 3000);
  await stopChild(api, 3000);
  rmSync(profDir, { recursive: true, force: true });
  await database.drop();
}
