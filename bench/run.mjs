#!/usr/bin/env node
// `npm run bench`: builds the API, starts the built server on a fresh
// PostgreSQL database (created here, dropped at the end) in production mode,
// drives it over loopback with autocannon from this process, runs the
// framework-free baselines in the same run, and writes
// bench/results/<date>-<sha>.json + bench/results/latest.json.
//
// Environment:
//   BENCH_QUICK=1            short runs (about 5 s per scenario, 20 s of mixed load)
//   BENCH_DURATION_S         seconds per throughput scenario (default 10, quick 5)
//   BENCH_MEMORY_S           seconds of mixed load for the RSS check (default 120, quick 20)
//   BENCH_EMBEDDED_ROUNDS    paired rounds of warm / PostgreSQL / PGlite-alone starts (default 5)
//   BENCH_CONNECTIONS        connections for `me` (default 50)
//   BENCH_WARMUP_S           saturating `me` warm-up of each server before its rounds (default 10, quick 3)
//   BENCH_ROUNDS             alternating rounds per ratio (default 10, 3 s each for me and refresh; login at most 2)
//   BENCH_PG_URL             admin URL of the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres)
//   BCRYPT_ROUNDS            bcrypt cost for the server and the raw baseline (default 12)
//   BENCH_SKIP_BUILD=1       do not run `npm run build` first
//   BENCH_ONLY               comma list of scenarios: me,peer,refresh,login,register,storm,memory,embedded
//                            (peer: better-auth's get-session beside `me`, its sign-in beside
//                            `login`, its sign-up beside `register`; bench/peers/better-auth)
//
// Nothing is asserted: figures are printed, ratios are against baselines
// measured in this same run, and targets are reported as pass/fail.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  apiNodeFlags,
  cpuMs,
  median,
  benchServerEnv,
  createBenchDatabase,
  freePort,
  gql,
  LOGIN_QUERY,
  ME_QUERY,
  medianOfRatios,
  ratio,
  REFRESH_QUERY,
  REGISTER_QUERY,
  round,
  rssMiB,
  seedRefreshChains,
  productionSecrets,
  serverHashConcurrency,
  sleep,
  startMailSink,
  startNode,
  stopChild,
  waitHealthy,
} from './lib/common.mjs';
import {
  runGraphql,
  runGraphqlInChild,
  runHttp,
  runPlain,
  runRefreshChains,
  runUnique,
} from './lib/load.mjs';
import {
  ensurePeerInstalled,
  peerHashRate,
  peerPostHeaders,
  peerSignUp,
  startPeer,
} from './lib/peer.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const DURATION = Number(env.BENCH_DURATION_S ?? (QUICK ? 5 : 10));
const MEMORY_S = Number(env.BENCH_MEMORY_S ?? (QUICK ? 20 : 120));
const CONN_ME = Number(env.BENCH_CONNECTIONS ?? 50);
// Set after the build (serverHashConcurrency): logins and registrations in
// flight, and how many bcrypt hashes the server runs at once. The server's
// one hash queue runs PASSWORD_HASH_CONCURRENCY hashes at once (by default
// one core less than the machine has: 1 here) and refuses a hash that would
// wait more than PASSWORD_HASH_MAX_WAIT; two more connections than hash
// slots keep every slot busy without a refusal. The raw bcrypt baseline runs
// as many compares at once as the server may: its limit on this machine.
let HASH_SLOTS = 8;
let CONN_LOGIN = 8;
const CONN_REFRESH = 20;
const ROUNDS = Number(env.BCRYPT_ROUNDS ?? 12);
const PG_ADMIN = env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const EMBEDDED_ROUNDS = Number(env.BENCH_EMBEDDED_ROUNDS ?? 5);
const ME_CPU_RATE = Number(env.BENCH_ME_CPU_RATE ?? 800);
const ONLY = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
const want = (s) => !ONLY || ONLY.has(s);
// The machine may be shared: the two sides of a ratio run in alternation,
// BENCH_ROUNDS times each (3 s a round by default), back to back.
// A ratio is the median of the per-round ratios (a slow spell of the machine
// hits both sides of a round); each side's shown figures are its best round
// (the least disturbed one). Every round is in the JSON.
const ROUNDS_N = Number(env.BENCH_ROUNDS ?? 10);
// Saturating `me` load on each server before its rounds. A server just
// started (or just idle) runs slower for several seconds, the framework-free
// one too: in bench/ab.mjs runs the first 3 s rounds after a 2 s warm-up were
// 15-40 % below the later ones on both sides, i.e. the ratio then measured
// partly how fast each warms up (JIT tiering, young-generation sizing).
const WARMUP_S = Number(env.BENCH_WARMUP_S ?? (QUICK ? 3 : 10));

/**
 * A login or register side counts what succeeded: a refusal (TOO_MANY_REQUESTS
 * from the hash queue) is a fast answer that would otherwise count as a login.
 */
const succeeded = (r) => ({ ...r, reqPerSec: r.okPerSec, answeredPerSec: r.reqPerSec });

/** Median of the per-round ratios of two sides' req/s (see medianOfRatios). */
function pairedRatio(a, b) {
  return Number(medianOfRatios(a.rounds, b.rounds).toFixed(3));
}

/** Runs each named side `rounds` times, alternating the order; returns the best and all rounds. */
async function alternate(sides, total = Math.max(DURATION, 3 * ROUNDS_N), rounds = ROUNDS_N) {
  const names = Object.keys(sides);
  const all = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const n of order) all[n].push(await sides[n](Math.max(3, Math.round(total / rounds))));
  }
  const best = Object.fromEntries(
    names.map((n) => {
      const b = all[n].reduce((a, x) => (x.reqPerSec > a.reqPerSec ? x : a));
      return [
        n,
        {
          ...b,
          errors: all[n].reduce((t, x) => t + x.errors, 0),
          rounds: all[n].map((x) => x.reqPerSec),
        },
      ];
    }),
  );
  return best;
}

const log = (...a) => console.error('[bench]', ...a);
const children = new Set();
function track(child) {
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

function gitSha() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    return 'nogit';
  }
}

function gitDirty() {
  try {
    return (
      execFileSync(
        'git',
        ['status', '--porcelain', '--', 'src', 'scripts', 'prisma', 'package.json'],
        {
          cwd: ROOT,
        },
      )
        .toString()
        .trim().length > 0
    );
  } catch {
    return null;
  }
}

function serverEnv(port, extra = {}) {
  return benchServerEnv(port, { BCRYPT_ROUNDS: String(ROUNDS), ...extra });
}

async function startApi(port, extra, nodeArgs = []) {
  const child = track(
    startNode([...apiNodeFlags(), ...nodeArgs, join(ROOT, 'dist/main.mjs')], {
      cwd: ROOT,
      env: serverEnv(port, extra),
      name: 'api',
    }),
  );
  const ms = await waitHealthy(`http://127.0.0.1:${port}/health`, { child, timeoutMs: 120_000 });
  return { child, ms };
}

/** RSS (MiB) of the API after the full GC its preloaded SIGUSR2 handler runs. */
async function rssAfterFullGc(child) {
  child.kill('SIGUSR2');
  await sleep(1500);
  return rssMiB(child.pid);
}

/**
 * Runs a baseline script of bench/baselines that prints its figures as one
 * JSON line on stdout, and returns that object.
 */
async function baselineJson(script, args = [], env = {}) {
  const child = track(
    startNode([join(ROOT, 'bench/baselines', script), ...args], {
      cwd: ROOT,
      env,
      name: script,
      pipe: true,
    }),
  );
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`${script} failed:\n${child.tail.join('\n')}`);
  return JSON.parse(Buffer.concat(out).toString().trim().split('\n').pop());
}

/** Raw bcrypt at the server's cost, HASH_SLOTS in flight: `compare` (login) or `hash` (register). */
async function rawBcrypt(mode, duration) {
  const r = await baselineJson('bcrypt-rate.mjs', [], {
    BCRYPT_ROUNDS: String(ROUNDS),
    BENCH_CONCURRENCY: String(HASH_SLOTS),
    BENCH_DURATION_S: String(duration),
    BENCH_MODE: mode,
  });
  return { ...r, reqPerSec: r.comparesPerSec, errors: 0 };
}

/** The peer's raw scrypt (better-auth/crypto), CONN_LOGIN in flight: `verify` or `hash`. */
async function rawScrypt(mode, duration) {
  const r = await peerHashRate({ concurrency: CONN_LOGIN, duration, mode });
  return { ...r, reqPerSec: r.comparesPerSec, errors: 0 };
}

/** Baseline: ms for PGlite alone to open `dir` and answer a query, in a fresh process. */
async function pgliteOpenMs(dir) {
  return (await baselineJson('pglite-open.mjs', [dir])).openMs;
}

async function main() {
  const started = Date.now();
  await startMailSink();
  const results = {
    date: new Date().toISOString(),
    git: { sha: gitSha(), srcDirty: gitDirty() },
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAvgAtStart: loadavg().map((x) => round(x, 2)),
    },
    settings: {
      quick: QUICK,
      durationS: DURATION,
      memoryS: MEMORY_S,
      connections: { me: CONN_ME, login: CONN_LOGIN, refresh: CONN_REFRESH },
      hashSlots: HASH_SLOTS,
      bcryptRounds: ROUNDS,
      uvThreadpoolSize: Number(env.UV_THREADPOOL_SIZE ?? 4),
    },
    scenarios: {},
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
  // A build without the hash queue runs every compare at once (8 in flight, as before).
  const slots = await serverHashConcurrency(ROOT);
  if (slots) {
    HASH_SLOTS = slots;
    CONN_LOGIN = slots + 2;
  }
  results.settings.hashSlots = HASH_SLOTS;
  results.settings.connections.login = CONN_LOGIN;

  const secret = randomBytes(32).toString('base64url');
  const database = await createBenchDatabase(PG_ADMIN);
  const dbUrl = database.url;
  log(`database ${database.name}`);
  let db;
  let peerDatabase;
  try {
    const pgWanted = ['me', 'peer', 'refresh', 'login', 'register', 'storm', 'memory'].some(want);
    if (pgWanted) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/graphql`;
      // With a SIGUSR2 handler that runs a full GC, for the memory scenario.
      const { child: api, ms } = await startApi(
        port,
        { DATABASE_URL: dbUrl, JWT_ACCESS_SECRET: secret },
        ['--expose-gc', '--import', join(ROOT, 'bench/lib/gc-on-signal.mjs')],
      );
      results.scenarios.startupPostgresMs = round(ms, 0);
      log(`api up in ${round(ms, 0)} ms (pid ${api.pid})`);

      const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
      const password = 'correct horse battery staple';
      const reg = await gql(url, REGISTER_QUERY, {
        input: { email, password, name: 'Bench User' },
      });
      const userId = reg.body.data.register.user.id;
      const token = reg.body.data.register.accessToken;
      const meRes = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: ME_QUERY }),
      });
      const meBody = await meRes.text();
      if (!meBody.includes(userId)) throw new Error(`me did not answer: ${meBody}`);
      // Logins and refresh chains belong to users of their own: a login past
      // AUTH_MAX_SESSIONS live sessions revokes the least recently used ones,
      // which would end `me`'s session (never refreshed) and seeded chains.
      const loginEmail = `bench-login-${randomBytes(4).toString('hex')}@example.com`;
      await gql(url, REGISTER_QUERY, { input: { email: loginEmail, password } });
      const chains = await gql(url, REGISTER_QUERY, {
        input: { email: `bench-chains-${randomBytes(4).toString('hex')}@example.com`, password },
      });
      const chainUserId = chains.body.data.register.user.id;

      db = new pg.Client({ connectionString: dbUrl });
      await db.connect();

      log(`warm-up (me, ${WARMUP_S} s)`);
      await runGraphql({
        name: 'warmup',
        url,
        query: ME_QUERY,
        token,
        connections: CONN_ME,
        duration: WARMUP_S,
      });

      // The API's `me` at saturation (a side of several alternations).
      const apiMe = (duration) =>
        runGraphql({
          name: 'API me',
          url,
          query: ME_QUERY,
          token,
          connections: CONN_ME,
          duration,
        });

      // --- the peer: better-auth, a database of its own on the same PostgreSQL
      let peer;
      if (want('peer')) {
        ensurePeerInstalled(log);
        peerDatabase = await createBenchDatabase(PG_ADMIN, 'bench_peer');
        const started = await startPeer(peerDatabase.url);
        track(started.child);
        const account = await peerSignUp(
          started.base,
          `peer-${randomBytes(4).toString('hex')}@example.com`,
          password,
        );
        peer = { ...started, ...account };
        results.scenarios.peerStartupMs = round(started.ms, 0);
        log(
          `better-auth peer up in ${round(started.ms, 0)} ms; warm-up (get-session, ${WARMUP_S} s)`,
        );
        await peerGetSession(WARMUP_S);
      }
      // better-auth's session check as a browser makes it: its session cookie,
      // GET get-session; an answer without the user counts as an error.
      function peerGetSession(duration) {
        return runHttp({
          name: 'better-auth get-session',
          url: `${peer.base}/get-session`,
          headers: { cookie: peer.cookie },
          verifyBody: (b) => typeof b === 'string' && b.includes(peer.userId),
          connections: CONN_ME,
          duration,
        });
      }
      function peerMeResults(apiR, peerR) {
        results.scenarios.peerMe = {
          api: apiR,
          peer: peerR,
          ratioToPeer: pairedRatio(apiR, peerR),
          bestRoundsRatio: ratio(apiR.reqPerSec, peerR.reqPerSec),
        };
        results.targets.peerMe = {
          target: 'API me >= 5x better-auth get-session req/s (no cookie cache), 0 errors',
          pass:
            results.scenarios.peerMe.ratioToPeer >= 5 && apiR.errors === 0 && peerR.errors === 0,
        };
      }

      // --- 1. me ---------------------------------------------------------
      let baselinePort;
      let baseline;
      if (want('me') || want('refresh')) {
        baselinePort = await freePort();
        baseline = track(
          startNode([join(ROOT, 'bench/baselines/apollo-pg.mjs')], {
            cwd: ROOT,
            env: {
              PORT: String(baselinePort),
              DATABASE_URL: dbUrl,
              JWT_ACCESS_SECRET: secret,
              // The API's signing key: the baseline verifies the same tokens.
              JWT_PRIVATE_KEY: productionSecrets().JWT_PRIVATE_KEY,
              NODE_ENV: 'production',
            },
            name: 'apollo-pg baseline',
          }),
        );
        await waitHealthy(`http://127.0.0.1:${baselinePort}/graphql`, {
          child: baseline,
          anyStatus: true,
        });
      }
      const baselineUrl = `http://127.0.0.1:${baselinePort}/graphql`;
      if (want('me')) {
        const barePort = await freePort();
        const bare = track(
          startNode([join(ROOT, 'bench/baselines/bare.mjs')], {
            env: { PORT: String(barePort), BENCH_ME_BODY: meBody },
            name: 'bare',
          }),
        );
        await waitHealthy(`http://127.0.0.1:${barePort}/`, { child: bare, anyStatus: true });
        log('me: bare node:http');
        const bareR = await runPlain({
          name: 'bare node:http',
          url: `http://127.0.0.1:${barePort}/graphql`,
          body: JSON.stringify({ query: ME_QUERY }),
          expectBody: meBody,
          connections: CONN_ME,
          duration: DURATION,
        });
        await stopChild(bare);
        log(
          `me: framework-free (Apollo standalone + jsonwebtoken + pg), API${peer ? ', better-auth get-session' : ''}, alternating`,
        );
        await runGraphql({
          name: 'warmup',
          url: baselineUrl,
          query: ME_QUERY,
          token,
          connections: CONN_ME,
          duration: WARMUP_S,
        });
        const {
          free: freeR,
          api: apiR,
          peer: peerR,
        } = await alternate({
          free: (duration) =>
            runGraphql({
              name: 'framework-free me',
              url: baselineUrl,
              query: ME_QUERY,
              token,
              connections: CONN_ME,
              duration,
            }),
          api: apiMe,
          ...(peer ? { peer: peerGetSession } : {}),
        });
        if (peer) peerMeResults(apiR, peerR);
        // The same two at a fixed rate both can sustain: server CPU per
        // request (/proc), paired rounds. At saturation the two servers and
        // the load generator share two cores and rounds move by ±15 %; at a
        // fixed rate the CPU each server spends per request is steadier, and
        // is what the framework costs.
        log(`me: CPU per request at ${ME_CPU_RATE} req/s, framework-free and API, alternating`);
        const cpu = { free: [], api: [] };
        for (let i = 0; i < ROUNDS_N; i++) {
          const order = i % 2 === 0 ? ['free', 'api'] : ['api', 'free'];
          for (const side of order) {
            const [target, pid] = side === 'api' ? [url, api.pid] : [baselineUrl, baseline.pid];
            const c0 = cpuMs(pid);
            const r = await runGraphql({
              name: `${side} me at ${ME_CPU_RATE} req/s`,
              url: target,
              query: ME_QUERY,
              token,
              connections: CONN_ME,
              duration: 3,
              overallRate: ME_CPU_RATE,
            });
            cpu[side].push(((cpuMs(pid) - c0) * 1000) / Math.max(1, r.requests));
          }
        }
        results.scenarios.me = {
          api: apiR,
          frameworkFree: freeR,
          bare: bareR,
          cpuAtFixedRate: {
            reqPerSec: ME_CPU_RATE,
            apiMicrosPerReq: round(median(cpu.api), 0),
            frameworkFreeMicrosPerReq: round(median(cpu.free), 0),
            ratio: round(medianOfRatios(cpu.api, cpu.free), 3),
            rounds: cpu,
          },
          ratioToFrameworkFree: pairedRatio(apiR, freeR),
          bestRoundsRatio: ratio(apiR.reqPerSec, freeR.reqPerSec),
          ratioToBare: ratio(apiR.reqPerSec, bareR.reqPerSec),
          frameworkFreeToBare: ratio(freeR.reqPerSec, bareR.reqPerSec),
        };
        results.targets.me = {
          target: 'API me >= 0.9x framework-free req/s, 0 errors',
          pass: results.scenarios.me.ratioToFrameworkFree >= 0.9 && apiR.errors === 0,
        };
      }

      if (peer && !want('me')) {
        log('peer: API me and better-auth get-session, alternating');
        const { api: apiR, peer: peerR } = await alternate({ api: apiMe, peer: peerGetSession });
        peerMeResults(apiR, peerR);
      }

      // --- 3. refreshToken rotation -------------------------------------
      if (want('refresh')) {
        const seeds = Math.max(2000, CONN_REFRESH * 50);
        log('refresh: framework-free rotation and API, alternating');
        const freeSeed = await seedRefreshChains(db, chainUserId, seeds);
        const apiSeed = await seedRefreshChains(db, chainUserId, seeds);
        const { free: freeR, api: apiR } = await alternate({
          free: (duration) =>
            runRefreshChains({
              name: 'framework-free refresh',
              url: baselineUrl,
              query: REFRESH_QUERY,
              nextSeed: freeSeed,
              connections: CONN_REFRESH,
              duration,
            }),
          api: (duration) =>
            runRefreshChains({
              name: 'API refresh',
              url,
              query: REFRESH_QUERY,
              nextSeed: apiSeed,
              connections: CONN_REFRESH,
              duration,
            }),
        });
        results.scenarios.refresh = {
          api: apiR,
          frameworkFree: freeR,
          ratioToFrameworkFree: pairedRatio(apiR, freeR),
          bestRoundsRatio: ratio(apiR.reqPerSec, freeR.reqPerSec),
        };
        results.targets.refresh = {
          target: 'API refreshToken >= 0.8x framework-free rotation, 0 errors',
          pass: results.scenarios.refresh.ratioToFrameworkFree >= 0.8 && apiR.errors === 0,
        };
      }
      if (baseline) await stopChild(baseline);

      // --- 2. login vs raw bcrypt ---------------------------------------
      const loginBody = { input: { email: loginEmail, password } };
      if (want('login')) {
        log(
          `login: API (${CONN_LOGIN} connections) and raw bcrypt.compare (${HASH_SLOTS} in flight, cost ${ROUNDS})${peer ? `, better-auth sign-in and its raw scrypt (${CONN_LOGIN} each)` : ''}, alternating`,
        );
        // bcrypt at cost 12 takes seconds per batch here: longer windows than the other scenarios.
        const {
          api: apiR,
          raw: rawR,
          peer: peerR,
          peerRaw: peerRawR,
        } = await alternate(
          {
            api: (duration) =>
              runGraphql({
                name: 'API login',
                url,
                query: LOGIN_QUERY,
                variables: loginBody,
                connections: CONN_LOGIN,
                duration,
              }).then(succeeded),
            raw: (duration) => rawBcrypt('compare', duration),
            ...(peer
              ? {
                  peer: (duration) =>
                    runHttp({
                      name: 'better-auth sign-in/email',
                      url: `${peer.base}/sign-in/email`,
                      method: 'POST',
                      headers: peerPostHeaders(peer.base),
                      body: JSON.stringify({ email: peer.email, password }),
                      verifyBody: (b) => typeof b === 'string' && b.includes('"token"'),
                      connections: CONN_LOGIN,
                      duration,
                    }).then(succeeded),
                  peerRaw: (duration) => rawScrypt('verify', duration),
                }
              : {}),
          },
          2 * DURATION,
          // A login takes about a second at cost 12: two long rounds, not many short ones.
          Math.min(ROUNDS_N, 2),
        );
        results.scenarios.login = {
          api: apiR,
          rawBcrypt: rawR,
          ratioToRawBcrypt: pairedRatio(apiR, rawR),
          bestRoundsRatio: ratio(apiR.reqPerSec, rawR.reqPerSec),
          ...(peer
            ? {
                peer: peerR,
                peerRawScrypt: peerRawR,
                peerRatioToRawScrypt: pairedRatio(peerR, peerRawR),
              }
            : {}),
        };
        results.targets.login = {
          target: 'API login >= 0.9x raw bcrypt.compare rate, 0 errors',
          pass: results.scenarios.login.ratioToRawBcrypt >= 0.9 && apiR.errors === 0,
        };
      }

      // --- register, against the raw hash rate ---------------------------
      if (want('register')) {
        log(
          `register: API (${CONN_LOGIN} connections) and raw bcrypt.hash (${HASH_SLOTS} in flight)${peer ? `, better-auth sign-up and its raw scrypt hash (${CONN_LOGIN} each)` : ''}, alternating`,
        );
        const {
          api: apiR,
          raw: rawR,
          peer: peerR,
          peerRaw: peerRawR,
        } = await alternate(
          {
            api: (duration) =>
              runUnique({
                name: 'API register',
                url,
                makeBody: (key) => ({
                  query: REGISTER_QUERY,
                  variables: {
                    input: { email: `reg-${key}@example.com`, password, name: 'Bench' },
                  },
                }),
                ok: (b) => !b.includes('"errors"') && b.includes('"accessToken"'),
                connections: CONN_LOGIN,
                duration,
              }).then(succeeded),
            raw: (duration) => rawBcrypt('hash', duration),
            ...(peer
              ? {
                  peer: (duration) =>
                    runUnique({
                      name: 'better-auth sign-up/email',
                      url: `${peer.base}/sign-up/email`,
                      headers: peerPostHeaders(peer.base),
                      makeBody: (key) => ({
                        email: `reg-${key}@example.com`,
                        password,
                        name: 'Bench',
                      }),
                      ok: (b) => b.includes('"token"'),
                      connections: CONN_LOGIN,
                      duration,
                    }).then(succeeded),
                  peerRaw: (duration) => rawScrypt('hash', duration),
                }
              : {}),
          },
          DURATION,
          Math.min(ROUNDS_N, 2),
        );
        results.scenarios.register = {
          api: apiR,
          rawBcryptHash: rawR,
          ratioToRawBcryptHash: pairedRatio(apiR, rawR),
          ...(peer
            ? {
                peer: peerR,
                peerRawScryptHash: peerRawR,
                peerRatioToRawScryptHash: pairedRatio(peerR, peerRawR),
              }
            : {}),
        };
      }

      // --- 4. me latency during a login storm ---------------------------
      if (want('storm')) {
        // A steady, unsaturated `me` load, so latency is the service time
        // and not a queue: 10 connections at 200 req/s in all.
        const steady = {
          url,
          query: ME_QUERY,
          token,
          connections: 10,
          overallRate: 200,
          duration: DURATION,
        };
        log('storm: me at rest');
        const rest = await runGraphql({ name: 'me at rest', ...steady });
        log('storm: me during a login storm (16 login connections)');
        // The storm from a process of its own: its ~1,500 answers a second
        // in this one would delay the event loop that times `me`.
        const [during, storm] = await Promise.all([
          runGraphql({ name: 'me during storm', ...steady }),
          runGraphqlInChild({
            name: 'login storm',
            url,
            query: LOGIN_QUERY,
            variables: loginBody,
            connections: 16,
            duration: DURATION,
          }),
        ]);
        results.scenarios.storm = {
          meAtRest: rest,
          meDuringStorm: during,
          loginStorm: storm,
          p99Ratio: ratio(during.latencyMs.p99, rest.latencyMs.p99),
          p50Ratio: ratio(during.latencyMs.p50, rest.latencyMs.p50),
        };
        results.targets.storm = {
          target: 'me p99 during a login storm <= 3x its p99 at rest, 0 errors',
          pass: during.latencyMs.p99 <= 3 * rest.latencyMs.p99 && during.errors === 0,
        };
      }

      // --- 5. memory under mixed load ------------------------------------
      if (want('memory')) {
        await sleep(2000);
        const idleBefore = rssMiB(api.pid);
        const collectedBefore = await rssAfterFullGc(api);
        log(`memory: ${MEMORY_S} s of mixed load (RSS after warm-up ${round(idleBefore)} MiB)`);
        const samples = [];
        const t0 = Date.now();
        const timer = setInterval(
          () => samples.push({ t: (Date.now() - t0) / 1000, rss: round(rssMiB(api.pid)) }),
          1000,
        );
        const seed = await seedRefreshChains(db, chainUserId, 20_000);
        const [meMix, refreshMix, loginMix] = await Promise.all([
          runGraphql({
            name: 'mixed me',
            url,
            query: ME_QUERY,
            token,
            connections: 10,
            duration: MEMORY_S,
          }),
          runRefreshChains({
            name: 'mixed refresh',
            url,
            query: REFRESH_QUERY,
            nextSeed: seed,
            connections: 4,
            duration: MEMORY_S,
          }),
          runGraphql({
            name: 'mixed login',
            url,
            query: LOGIN_QUERY,
            variables: loginBody,
            connections: 2,
            duration: MEMORY_S,
          }),
        ]);
        clearInterval(timer);
        await sleep(3000);
        const idleAfter = rssMiB(api.pid);
        const collectedAfter = await rssAfterFullGc(api);
        const rss = samples.map((s) => s.rss).filter((x) => x != null);
        // Under load RSS is a saw-tooth (it rises until the GC collects, then
        // drops): a median lands anywhere on a tooth. A leak raises the floor,
        // so compare the low points of two windows that each span several GC
        // cycles: tenths 2-4 (after the ramp-up) and the last three tenths.
        const tenth = Math.max(1, Math.floor(rss.length / 10));
        const early = Math.min(...rss.slice(tenth, 4 * tenth));
        const late = Math.min(...rss.slice(-3 * tenth));
        const sawToothGrowth = late - early;
        // The verdict: RSS with the garbage collected (a full GC before and
        // after the load, the server idle both times). A leak is memory still
        // referenced, which no GC frees; what the saw-tooth's low points add
        // on top is heap sizing (V8 keeps a larger heap after a busy spell).
        const growth = collectedAfter - collectedBefore;
        const noise = Math.max(10, 0.05 * collectedBefore);
        // Trend of the second half, MiB per minute (least squares).
        const half = samples.slice(Math.floor(samples.length / 2)).filter((x) => x.rss != null);
        const mx = half.reduce((a, x) => a + x.t, 0) / half.length;
        const my = half.reduce((a, x) => a + x.rss, 0) / half.length;
        const slope =
          half.reduce((a, x) => a + (x.t - mx) * (x.rss - my), 0) /
          Math.max(
            1e-9,
            half.reduce((a, x) => a + (x.t - mx) ** 2, 0),
          );
        results.scenarios.memory = {
          rssAfterWarmupMiB: round(idleBefore),
          rssEarlyLoadMiB: round(early),
          rssLateLoadMiB: round(late),
          rssMaxMiB: round(Math.max(...rss)),
          rssIdleAfterLoadMiB: round(idleAfter),
          sawToothGrowthMiB: round(sawToothGrowth),
          rssAfterFullGcBeforeMiB: round(collectedBefore),
          rssAfterFullGcAfterMiB: round(collectedAfter),
          growthMiB: round(growth),
          secondHalfSlopeMiBPerMin: round(slope * 60, 2),
          noiseThresholdMiB: round(noise),
          load: { me: meMix, refresh: refreshMix, login: loginMix },
          samples,
        };
        results.targets.memory = {
          target: `no RSS growth beyond noise (RSS after a full GC, after the load - before it <= ${round(noise)} MiB)`,
          pass: growth <= noise,
        };
      }

      await stopChild(api);
      log('api stopped');
    }

    // --- 6. embedded PGlite cold/warm start -----------------------------
    if (want('embedded')) {
      const dataDir = mkdtempSync(join(tmpdir(), 'bench-pglite-'));
      try {
        const port = await freePort();
        const extra = { JWT_ACCESS_SECRET: secret, DATA_DIR: dataDir };
        log('embedded: cold start on a fresh DATA_DIR');
        const cold = await startApi(port, extra);
        await stopChild(cold.child, 15_000);
        // Then rounds of three, back to back (the machine is shared): the
        // warm start on that DATA_DIR, the same build's start on PostgreSQL
        // (its database exists: the boot of everything but the embedded
        // database), and PGlite alone opening the same DATA_DIR (its
        // defaults, a fresh process). Each round gives what the embedded
        // database adds to a start and its ratio to PGlite alone; the verdict
        // is the median round, as for the other ratios.
        const rounds = [];
        for (let i = 0; i < EMBEDDED_ROUNDS; i++) {
          log(
            `embedded: round ${i + 1}/${EMBEDDED_ROUNDS}: warm start, PostgreSQL start, PGlite alone`,
          );
          const warm = await startApi(port, extra);
          await stopChild(warm.child, 15_000);
          const pgStart = await startApi(port, { JWT_ACCESS_SECRET: secret, DATABASE_URL: dbUrl });
          await stopChild(pgStart.child, 15_000);
          const alone = await pgliteOpenMs(join(dataDir, 'pgdata'));
          rounds.push({
            warmStartMs: round(warm.ms, 0),
            postgresStartMs: round(pgStart.ms, 0),
            pgliteAloneOpenMs: round(alone, 0),
            addedMs: round(warm.ms - pgStart.ms, 0),
            addedToAlone: ratio(warm.ms - pgStart.ms, alone),
          });
        }
        const mid = (key) => median(rounds.map((r) => r[key]));
        const addedToAlone = mid('addedToAlone');
        results.scenarios.embedded = {
          coldStartMs: round(cold.ms, 0),
          warmStartMs: mid('warmStartMs'),
          postgresStartMs: mid('postgresStartMs'),
          pgliteAloneOpenMs: mid('pgliteAloneOpenMs'),
          addedMs: mid('addedMs'),
          warmToPostgres: ratio(mid('warmStartMs'), mid('postgresStartMs')),
          addedToAlone,
          rounds,
        };
        // What "fast" means for the second start: the embedded database adds
        // no more to a start than opening it costs by itself (PGlite alone,
        // in its own process, on the same directory), i.e. nothing of the
        // server's own waits behind it. Measured next to each other, not
        // against a fixed number of seconds: on this shared machine the same
        // build's start moves by a factor of 2 from one day to the next.
        results.targets.embedded = {
          target:
            'warm start on an existing DATA_DIR minus the same start on PostgreSQL <= PGlite alone opening that DATA_DIR (median of paired rounds)',
          pass: addedToAlone <= 1,
        };
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  } finally {
    for (const c of children) await stopChild(c, 3000);
    if (db) await db.end().catch(() => {});
    await database.drop().catch((e) => log(`drop failed: ${e.message}`));
    await peerDatabase?.drop().catch((e) => log(`drop failed: ${e.message}`));
  }

  results.totalSeconds = round((Date.now() - started) / 1000, 0);
  results.machine.loadAvgAtEnd = loadavg().map((x) => round(x, 2));
  const day = results.date.slice(0, 10);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  // A partial run (BENCH_ONLY) is named after its scenarios and leaves
  // latest.json (the README's table) to full runs.
  const part = ONLY ? `-${[...ONLY].join('-')}` : '';
  const file = join(dir, `${day}-${results.git.sha}${part}.json`);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(file, json);
  if (!ONLY) writeFileSync(join(dir, 'latest.json'), json);
  printTable(results);
  console.log(
    `\nwritten: ${file.replace(`${ROOT}/`, '')}${ONLY ? '' : ' and bench/results/latest.json'}`,
  );
}

function printTable(r) {
  const m = r.machine;
  const out = [];
  out.push(
    `\nauth-api benchmark — ${r.date} — ${r.git.sha}${r.git.srcDirty ? ' (src dirty)' : ''}`,
  );
  out.push(
    `machine: ${m.cpu}, ${m.cores} cores, node ${m.node}; load avg ${m.loadAvgAtStart.join(' ')} -> ${m.loadAvgAtEnd.join(' ')}`,
  );
  out.push(
    `bcrypt cost ${r.settings.bcryptRounds}; ${r.settings.durationS} s per scenario (ratio sides alternate: ${ROUNDS_N} rounds, ratio = median of per-round ratios; figures = best round)`,
  );
  const row = (label, x, extra = '') =>
    out.push(
      `${label.padEnd(34)} ${String(x.reqPerSec).padStart(9)} req/s  p50 ${String(x.latencyMs.p50).padStart(5)} ms  p99 ${String(x.latencyMs.p99).padStart(5)} ms  err ${String(x.errors).padStart(4)}  ${extra}`,
    );
  const s = r.scenarios;
  if (s.me) {
    out.push('\n1. me (Bearer token)');
    row('  bare node:http', s.me.bare);
    row('  framework-free (Apollo+jwt+pg)', s.me.frameworkFree);
    row(
      '  API (Nest+Apollo+Fastify+Prisma)',
      s.me.api,
      `x${s.me.ratioToFrameworkFree} of framework-free, x${s.me.ratioToBare} of bare`,
    );
    const c = s.me.cpuAtFixedRate;
    if (c)
      out.push(
        `  server CPU per request at ${c.reqPerSec} req/s: API ${c.apiMicrosPerReq} µs, framework-free ${c.frameworkFreeMicrosPerReq} µs (x${c.ratio})`,
      );
  }
  if (s.peerMe) {
    out.push('\n1b. me against the peer (better-auth, no cookie cache)');
    row('  API me', s.peerMe.api);
    row('  better-auth get-session', s.peerMe.peer, `API x${s.peerMe.ratioToPeer} of it`);
  }
  const raw = (label, x) =>
    out.push(
      `${label.padEnd(34)} ${String(x.comparesPerSec).padStart(9)} /s     p50 ${String(x.latencyMs.p50).padStart(5)} ms  p99 ${String(x.latencyMs.p99).padStart(5)} ms`,
    );
  if (s.login) {
    out.push('\n2. login (each against its own raw password-hash rate, same concurrency)');
    row('  API login', s.login.api, `x${s.login.ratioToRawBcrypt} of raw bcrypt`);
    raw('  raw bcrypt.compare', s.login.rawBcrypt);
    if (s.login.peer) {
      row(
        '  better-auth sign-in/email',
        s.login.peer,
        `x${s.login.peerRatioToRawScrypt} of raw scrypt`,
      );
      raw('  raw scrypt verify (better-auth)', s.login.peerRawScrypt);
    }
  }
  if (s.register) {
    out.push('\n2b. register (each against its own raw hash rate)');
    row('  API register', s.register.api, `x${s.register.ratioToRawBcryptHash} of raw bcrypt.hash`);
    raw('  raw bcrypt.hash', s.register.rawBcryptHash);
    if (s.register.peer) {
      row(
        '  better-auth sign-up/email',
        s.register.peer,
        `x${s.register.peerRatioToRawScryptHash} of raw scrypt`,
      );
      raw('  raw scrypt hash (better-auth)', s.register.peerRawScryptHash);
    }
  }
  if (s.refresh) {
    out.push('\n3. refreshToken rotation (own chain per connection)');
    row('  framework-free (Apollo+pg tx)', s.refresh.frameworkFree);
    row('  API', s.refresh.api, `x${s.refresh.ratioToFrameworkFree} of framework-free`);
  }
  if (s.storm) {
    out.push('\n4. me at 200 req/s, at rest vs during a login storm');
    row('  me at rest', s.storm.meAtRest);
    row('  me during storm', s.storm.meDuringStorm, `p99 x${s.storm.p99Ratio}`);
    row('  login storm (16 conn)', s.storm.loginStorm);
  }
  if (s.memory) {
    const mm = s.memory;
    out.push(
      `\n5. memory (${r.settings.memoryS} s mixed load): RSS after a full GC ${mm.rssAfterFullGcBeforeMiB} MiB before the load, ${mm.rssAfterFullGcAfterMiB} MiB after it (growth ${mm.growthMiB} MiB)`,
      `   under load: RSS after warm-up ${mm.rssAfterWarmupMiB} MiB, early-load floor ${mm.rssEarlyLoadMiB}, late-load floor ${mm.rssLateLoadMiB} (${mm.sawToothGrowthMiB}), max ${mm.rssMaxMiB}, idle after ${mm.rssIdleAfterLoadMiB}, 2nd-half trend ${mm.secondHalfSlopeMiBPerMin} MiB/min`,
    );
  }
  if (s.embedded) {
    const e = s.embedded;
    out.push(
      `\n6. embedded PGlite start to healthy /health (medians of ${e.rounds.length} rounds): fresh DATA_DIR ${e.coldStartMs} ms, existing ${e.warmStartMs} ms; the same build on PostgreSQL ${e.postgresStartMs} ms (x${e.warmToPostgres})`,
      `   the embedded database adds ${e.addedMs} ms; PGlite alone opens that DATA_DIR in ${e.pgliteAloneOpenMs} ms (added / alone x${e.addedToAlone}; rounds ${e.rounds.map((x) => x.addedToAlone).join(' ')})`,
    );
  }
  out.push('\ntargets:');
  for (const [k, t] of Object.entries(r.targets))
    out.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${k.padEnd(9)} ${t.target}`);
  out.push(`\ntotal ${r.totalSeconds} s`);
  console.log(out.join('\n'));
}

main().catch(async (e) => {
  console.error(e instanceof Error ? e.stack : e);
  for (const c of children) await stopChild(c, 3000);
  process.exit(1);
});
