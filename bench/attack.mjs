#!/usr/bin/env node
// `npm run bench:attack`: the API under an online guessing attack, with the
// production limits (nothing lifted), on a fresh PostgreSQL database.
//
// The attack, for BENCH_ATTACK_S seconds:
// - a flood of wrong-password logins at BENCH_FLOOD_X times the raw bcrypt
//   rate of this machine (measured first), over 1,000 accounts and (a share
//   of BENCH_FLOOD_NORMAL_SHARE, 0.3) the normal users' own, enough to lock
//   them during the attack, sent from 200 loopback source addresses
//   (127.0.0.10-209: the server, TRUST_PROXY=false, sees 200 clients);
// - logged-in attackers sending documents of 30 aliased
//   `changePassword(currentPassword = newPassword)` calls, back to back;
// sent by a process of its own (the attacker is not the watcher), while,
// from this process and addresses of their own:
// - `me` at a steady rate from a logged-in user;
// - normal users logging in at a modest rate (BENCH_NORMAL_RATE a second),
//   each from a device (an HTTP client with its cookie jar) that logged in
//   successfully before the attack.
// Measured the same way at rest first. Targets: `me` p99 during the attack
// <= 2x at rest; every flood request answered within the queue bound
// (BENCH_QUEUE_BOUND_MS, what the server's bounded hash queue promises), the
// refused ones as TOO_MANY_REQUESTS with a Retry-After header; normal logins
// succeed within 2 s at least 90 % of the time.
//
// The whole run is done twice: with the device-cookie defence off and on
// (BENCH_DEVICE_COOKIE_ENV=VAR: the server variable that turns it on, set to
// `true`/`false`; without it, one run with the server's default).
//
// Environment: BENCH_ATTACK_S (30), BENCH_REST_S (15), BENCH_FLOOD_X (5),
// BENCH_ACCOUNTS (1000 flooded accounts), BENCH_NORMAL_USERS (20),
// BENCH_NORMAL_RATE (2 logins/s), BENCH_ME_RATE (50), BENCH_ATTACKERS (4),
// BENCH_QUEUE_BOUND_MS, BENCH_DEVICE_COOKIE_ENV, BENCH_ATTACK_ENV (more server
// variables, `A=1,B=2`), BCRYPT_ROUNDS (12), BENCH_PG_URL, BENCH_SKIP_BUILD=1.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  apiNodeFlags,
  appPasswordHash,
  BENCH_PASSWORD,
  createBenchDatabase,
  freePort,
  LOGIN_QUERY,
  ME_QUERY,
  productionSecrets,
  round,
  startMailSink,
  startNode,
  stopChild,
  waitHealthy,
} from './lib/common.mjs';
import { httpClient, latencySummary, openLoop } from './lib/openloop.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const num = (k, d) => Number(env[k] ?? d);
const ATTACK_S = num('BENCH_ATTACK_S', 40);
const REST_S = num('BENCH_REST_S', 15);
const FLOOD_X = num('BENCH_FLOOD_X', 5);
const ACCOUNTS = num('BENCH_ACCOUNTS', 1000);
// The share of the flood aimed at the normal users' own accounts: enough to
// lock them (AUTH_LOGIN_MAX_FAILURES) during the attack, which is what a
// device cookie lets a returning device get past.
const NORMAL_SHARE = num('BENCH_FLOOD_NORMAL_SHARE', 0.3);
const NORMAL_USERS = num('BENCH_NORMAL_USERS', 20);
const NORMAL_RATE = num('BENCH_NORMAL_RATE', 2);
const ME_RATE = num('BENCH_ME_RATE', 50);
const ATTACKERS = num('BENCH_ATTACKERS', 4);
const SOURCES = 200;
const BCRYPT = num('BCRYPT_ROUNDS', 12);
// The latency no flood request may exceed: set after the build (see main).
let QUEUE_BOUND_MS = env.BENCH_QUEUE_BOUND_MS ? Number(env.BENCH_QUEUE_BOUND_MS) : null;
// The device-cookie defence of src/devices (AUTH_DEVICE_TOKENS), off then on.
const DEVICE_ENV = env.BENCH_DEVICE_COOKIE_ENV ?? 'AUTH_DEVICE_TOKENS';
// The clients are browsers (a cookie jar each): the server in cookie mode, so
// the device token is a cookie the jar sends back (in token mode it is in the
// payload, for the client to pass as LoginInput.deviceToken).
const EXTRA_ENV = Object.fromEntries(
  (env.BENCH_ATTACK_ENV ?? 'AUTH_REFRESH_COOKIE=true')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const PG_ADMIN = env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const NORMAL_OK_MS = 2000;
const log = (...a) => console.error('[attack]', ...a);
let mailUrl;

const CHANGE_PASSWORD_ALIASES = 30;
const changePasswordDocument = () =>
  `mutation Storm { ${Array.from(
    { length: CHANGE_PASSWORD_ALIASES },
    (_, i) =>
      `c${i}: changePassword(input: { currentPassword: "${BENCH_PASSWORD}", newPassword: "${BENCH_PASSWORD}" })`,
  ).join(' ')} }`;

/** The i-th of the flood's SOURCES loopback addresses (127.0.0.10-209). */
const floodAddress = (i) => `127.0.0.${10 + (i % SOURCES)}`;

/** A client with a cookie jar: a browser on one device, from one source address. */
function device(url, localAddress) {
  const client = httpClient(url, { localAddress, maxSockets: 4 });
  const jar = new Map();
  return {
    localAddress,
    jar,
    async gql(query, variables, token) {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const r = await client.request({
        body: JSON.stringify({ query, variables }),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(cookie ? { cookie } : {}),
        },
      });
      for (const c of [r.headers['set-cookie'] ?? []].flat()) {
        const [pair] = c.split(';');
        const i = pair.indexOf('=');
        jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
      }
      let body = null;
      try {
        body = JSON.parse(r.body);
      } catch {
        /* counted by the caller */
      }
      const code = body?.errors?.[0]?.extensions?.code ?? null;
      return { ...r, json: body, code, ok: r.status === 200 && !body?.errors };
    },
    close: () => client.close(),
  };
}

/** Users made directly in the database, with the app's own hash of BENCH_PASSWORD. */
async function seedUsers(db, emails) {
  const hash = await appPasswordHash(ROOT, BENCH_PASSWORD, BCRYPT);
  const ids = emails.map(() => randomUUID());
  await db.query(
    `INSERT INTO users (id, email, name, password_hash, updated_at, email_verified_at)
     SELECT id, email, 'Bench', $3, now(), now() FROM unnest($1::uuid[], $2::text[]) AS t(id, email)`,
    [ids, emails, hash],
  );
  return ids;
}

/** Raw bcrypt.compare at the server's cost with `concurrency` in flight (bench/baselines/bcrypt-rate.mjs). */
async function rawBcrypt(concurrency) {
  const child = startNode([join(ROOT, 'bench/baselines/bcrypt-rate.mjs')], {
    cwd: ROOT,
    pipe: true,
    name: 'bcrypt-rate',
    env: {
      BCRYPT_ROUNDS: String(BCRYPT),
      BENCH_CONCURRENCY: String(concurrency),
      BENCH_DURATION_S: '6',
    },
  });
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  await child.exited;
  return JSON.parse(Buffer.concat(out).toString().trim().split('\n').pop());
}

/** The server's PASSWORD_HASH_MAX_WAIT (ms) with `serverEnv`, read by its own config schema. */
async function serverMaxWaitMs(serverEnv) {
  const { parseEnv } = await import(
    new URL('dist/src/config/config.schema.js', `file://${ROOT}/`).href
  );
  return parseEnv({ NODE_ENV: 'test', ...serverEnv }).PASSWORD_HASH_MAX_WAIT ?? null;
}

/** Outcome of a flood response: what the attacker saw. */
function floodOutcome(r) {
  if (r.status === 0) return 'socket error';
  if (r.code === 'TOO_MANY_REQUESTS')
    return r.headers['retry-after']
      ? 'TOO_MANY_REQUESTS + Retry-After'
      : 'TOO_MANY_REQUESTS, no Retry-After';
  if (r.code) return r.code;
  return r.ok ? 'ok (!)' : `HTTP ${r.status}`;
}

/** One run: a server with `serverEnv`, at rest, then under attack. */
async function runOnce(label, serverEnv, floodRate) {
  const database = await createBenchDatabase(PG_ADMIN, 'bench_attack');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const api = startNode([...apiNodeFlags(), join(ROOT, 'dist/main.mjs')], {
    cwd: ROOT,
    name: `api-${label}`,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: database.url,
      JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
      BCRYPT_ROUNDS: String(BCRYPT),
      // The socket's address is the client (no proxy in front).
      TRUST_PROXY: 'false',
      ...productionSecrets(),
      SMTP_URL: mailUrl,
      ...serverEnv,
    },
  });
  const db = new pg.Client({ connectionString: database.url });
  const devices = [];
  try {
    await waitHealthy(`http://127.0.0.1:${port}/health`, { child: api, timeoutMs: 120_000 });
    await db.connect();
    const normalEmails = Array.from(
      { length: NORMAL_USERS },
      (_, i) => `normal${i}@attack.example`,
    );
    const attackerEmails = Array.from(
      { length: ATTACKERS },
      (_, i) => `attacker${i}@attack.example`,
    );
    const victimEmails = Array.from({ length: ACCOUNTS }, (_, i) => `victim${i}@attack.example`);
    await seedUsers(db, [
      ...normalEmails,
      ...attackerEmails,
      ...victimEmails,
      'watcher@attack.example',
    ]);

    // Devices: normal users on 127.0.1.x, the `me` watcher on 127.0.2.1,
    // attackers on the first of the 200 flood addresses (floodAddress).
    const normal = normalEmails.map((email, i) => ({
      email,
      dev: device(url, `127.0.1.${10 + i}`),
    }));
    const watcher = device(url, '127.0.2.1');
    // (The flood's own clients are in the attack process, on the same addresses.)
    const attackerDevices = attackerEmails.map((_, i) => device(url, floodAddress(i)));
    devices.push(...normal.map((n) => n.dev), watcher, ...attackerDevices);

    // Each normal user logs in once from its device before anything happens.
    for (const n of normal) {
      const r = await n.dev.gql(LOGIN_QUERY, {
        input: { email: n.email, password: BENCH_PASSWORD },
      });
      if (!r.ok) throw new Error(`first login of ${n.email} failed: ${r.body}`);
    }
    const w = await watcher.gql(LOGIN_QUERY, {
      input: { email: 'watcher@attack.example', password: BENCH_PASSWORD },
    });
    const watcherToken = w.json.data.login.accessToken;
    const attackers = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const dev = attackerDevices[i];
      const r = await dev.gql(LOGIN_QUERY, {
        input: { email: attackerEmails[i], password: BENCH_PASSWORD },
      });
      if (!r.ok) throw new Error(`attacker login failed: ${r.body}`);
      attackers.push({ dev, token: r.json.data.login.accessToken });
    }

    const meLoad = (seconds) =>
      openLoop({ rate: ME_RATE, seconds, fire: () => watcher.gql(ME_QUERY, {}, watcherToken) });
    const normalLoad = (seconds) =>
      openLoop({
        rate: NORMAL_RATE,
        seconds,
        fire: (i) => {
          const n = normal[i % normal.length];
          return n.dev.gql(LOGIN_QUERY, { input: { email: n.email, password: BENCH_PASSWORD } });
        },
      });
    const summariseNormal = ({ results }) => {
      const within = results.filter((r) => r.ok && r.ms <= NORMAL_OK_MS).length;
      const codes = {};
      for (const r of results) {
        const k = r.ok ? 'ok' : (r.code ?? `HTTP ${r.status}`);
        codes[k] = (codes[k] ?? 0) + 1;
      }
      return {
        attempts: results.length,
        okWithin2s: within,
        successRate: results.length ? round(within / results.length, 3) : null,
        latencyMs: latencySummary(results.map((r) => r.ms)),
        outcomes: codes,
      };
    };
    const summariseMe = ({ results, dropped }) => ({
      ...latencySummary(results.filter((r) => r.ok).map((r) => r.ms)),
      errors: results.filter((r) => !r.ok).length + dropped,
    });

    log(`${label}: at rest, ${REST_S} s (me ${ME_RATE}/s, normal logins ${NORMAL_RATE}/s)`);
    const [meRest, normalRest] = await Promise.all([meLoad(REST_S), normalLoad(REST_S)]);

    log(
      `${label}: attack, ${ATTACK_S} s: flood ${round(floodRate, 1)} wrong logins/s over ${ACCOUNTS + NORMAL_USERS} accounts (${NORMAL_SHARE} of it on the normal users') from ${SOURCES} addresses, ${ATTACKERS} changePassword attackers`,
    );
    // The attack is sent by a process of its own, as an attacker is not the
    // watcher: in this process its thousands of answers a second would
    // delay the event loop that times `me` and the normal logins, and the
    // client's own delay would be counted as the server's.
    const startAt = Date.now() + 1000;
    const traffic = startNode([fileURLToPath(import.meta.url)], {
      cwd: ROOT,
      pipe: true,
      name: `attack-traffic-${label}`,
      env: {
        BENCH_ATTACK_TRAFFIC: JSON.stringify({
          url,
          startAt,
          floodRate,
          normalEmails,
          victimEmails,
          attackers: attackers.map((a) => ({ localAddress: a.dev.localAddress, token: a.token })),
        }),
      },
    });
    // At the lowest priority: on a real deployment the attacker's own CPU is
    // not the server's; on this one machine it would otherwise compete with
    // the server for the same two cores (BENCH_ATTACK_NICE, 19).
    setPriority(traffic.pid, num('BENCH_ATTACK_NICE', 19));
    const trafficOut = [];
    traffic.stdout.on('data', (d) => trafficOut.push(d));
    await sleep(startAt - Date.now());
    const [meAttack, normalAttack] = await Promise.all([meLoad(ATTACK_S), normalLoad(ATTACK_S)]);
    const { code } = await traffic.exited;
    if (code !== 0) throw new Error(`attack traffic failed:\n${traffic.tail.join('\n')}`);
    const { flood, changePasswordStorm } = JSON.parse(
      Buffer.concat(trafficOut).toString().trim().split('\n').pop(),
    );
    const { outcomes } = flood;
    const floodLat = flood.latencyMs;
    const meRestS = summariseMe(meRest);
    const meAttackS = summariseMe(meAttack);
    const normalAttackS = summariseNormal(normalAttack);
    const result = {
      label,
      serverEnv,
      floodRate: round(floodRate, 1),
      meAtRest: meRestS,
      meDuringAttack: meAttackS,
      meP99Ratio: meRestS.p99 ? round(meAttackS.p99 / meRestS.p99, 3) : null,
      normalAtRest: summariseNormal(normalRest),
      normalDuringAttack: normalAttackS,
      flood,
      changePasswordStorm,
    };
    const shedWithHeader = outcomes['TOO_MANY_REQUESTS + Retry-After'] ?? 0;
    result.targets = {
      me: {
        target: '`me` p99 during the attack <= 2x at rest, 0 errors',
        pass: result.meP99Ratio !== null && result.meP99Ratio <= 2 && meAttackS.errors === 0,
      },
      shed: {
        target: `flood refused with TOO_MANY_REQUESTS + Retry-After, every flood answer within the queue bound (${QUEUE_BOUND_MS ?? 'BENCH_QUEUE_BOUND_MS unset'} ms)`,
        pass:
          shedWithHeader > 0 &&
          !outcomes['TOO_MANY_REQUESTS, no Retry-After'] &&
          QUEUE_BOUND_MS !== null &&
          floodLat.max <= QUEUE_BOUND_MS,
      },
      normal: {
        target: 'normal logins from known devices succeed within 2 s >= 90 % of the time',
        pass: (normalAttackS.successRate ?? 0) >= 0.9,
      },
    };
    return result;
  } finally {
    for (const d of devices) d.close();
    await db.end().catch(() => {});
    await stopChild(api, 10_000);
    await database.drop().catch((e) => log(`drop failed: ${e.message}`));
  }
}

/**
 * The attack process (BENCH_ATTACK_TRAFFIC: what runOnce passes): from
 * `startAt`, for ATTACK_S seconds, the flood of wrong-password logins from
 * the SOURCES addresses and the attackers' changePassword documents back to
 * back; prints one JSON line of what the attackers saw.
 */
async function trafficMain(config) {
  const { url, startAt, floodRate, normalEmails, victimEmails, attackers } = config;
  const flood = Array.from({ length: SOURCES }, (_, i) => device(url, floodAddress(i)));
  const stormClients = attackers.map((a) => ({ ...a, dev: device(url, a.localAddress) }));
  // Most of the flood on accounts of its own, NORMAL_SHARE on the normal users'.
  const target = (i) =>
    (i * 7919) % 1000 < NORMAL_SHARE * 1000
      ? normalEmails[i % normalEmails.length]
      : victimEmails[(i * 7919) % victimEmails.length];
  await sleep(startAt - Date.now());
  let stop = false;
  const storm = [];
  const stormLoop = async (a) => {
    while (!stop) {
      const r = await a.dev.gql(changePasswordDocument(), {}, a.token);
      storm.push({ ms: r.ms, outcome: r.ok ? 'ok' : (r.code ?? `HTTP ${r.status}`) });
    }
  };
  const stormDone = Promise.all(stormClients.map(stormLoop));
  const floodRun = await openLoop({
    rate: floodRate,
    seconds: ATTACK_S,
    maxInFlight: 5000,
    fire: (i) =>
      flood[i % SOURCES].gql(LOGIN_QUERY, {
        input: { email: target(i), password: `wrong-${i}` },
      }),
  });
  stop = true;
  await stormDone;
  for (const d of [...flood, ...stormClients.map((a) => a.dev)]) d.close();

  const outcomes = {};
  for (const r of floodRun.results) {
    const k = floodOutcome(r);
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  const shed = floodRun.results.filter((r) => r.code === 'TOO_MANY_REQUESTS');
  const stormOutcomes = {};
  for (const s of storm) stormOutcomes[s.outcome] = (stormOutcomes[s.outcome] ?? 0) + 1;
  const summary = {
    flood: {
      sent: floodRun.results.length,
      notSentAtClientBound: floodRun.dropped,
      outcomes,
      latencyMs: latencySummary(floodRun.results.map((r) => r.ms)),
      shedLatencyMs: latencySummary(shed.map((r) => r.ms)),
    },
    changePasswordStorm: {
      documents: storm.length,
      outcomes: stormOutcomes,
      latencyMs: latencySummary(storm.map((x) => x.ms)),
    },
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

async function main() {
  const started = Date.now();
  const sink = await startMailSink();
  mailUrl = sink.url;
  if (env.BENCH_SKIP_BUILD !== '1') {
    log('npm run build');
    const b = spawnSync('npm', ['run', 'build'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
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
      attackS: ATTACK_S,
      restS: REST_S,
      floodX: FLOOD_X,
      accounts: ACCOUNTS,
      floodNormalShare: NORMAL_SHARE,
      normalUsers: NORMAL_USERS,
      normalRate: NORMAL_RATE,
      meRate: ME_RATE,
      attackers: ATTACKERS,
      sources: SOURCES,
      bcryptRounds: BCRYPT,
      queueBoundMs: QUEUE_BOUND_MS,
      deviceCookieEnv: DEVICE_ENV,
      attackProcessNice: num('BENCH_ATTACK_NICE', 19),
    },
    runs: [],
  };
  log(`raw bcrypt at cost ${BCRYPT}: 8 in flight (every core), then one at a time`);
  const all = await rawBcrypt(8);
  const one = await rawBcrypt(1);
  results.rawBcryptPerSec = all.comparesPerSec;
  results.rawBcryptOneAtATime = one;
  const floodRate = FLOOD_X * all.comparesPerSec;
  // The bound a flood answer must keep: the server's longest queue wait
  // (PASSWORD_HASH_MAX_WAIT), plus the one hash it may then run (p99 of a
  // compare, one at a time), plus 200 ms for everything else.
  const maxWait = await serverMaxWaitMs(EXTRA_ENV).catch(() => null);
  if (QUEUE_BOUND_MS === null && maxWait !== null)
    QUEUE_BOUND_MS = Math.round(maxWait + one.latencyMs.p99 + 200);
  results.settings.queueBoundMs = QUEUE_BOUND_MS;
  results.settings.serverMaxWaitMs = maxWait;
  const variants = DEVICE_ENV
    ? [
        ['device cookies off', { ...EXTRA_ENV, [DEVICE_ENV]: 'false' }],
        ['device cookies on', { ...EXTRA_ENV, [DEVICE_ENV]: 'true' }],
      ]
    : [['server defaults', EXTRA_ENV]];
  for (const [label, serverEnv] of variants)
    results.runs.push(await runOnce(label, serverEnv, floodRate));
  results.totalSeconds = round((Date.now() - started) / 1000, 0);
  results.machine.loadAvgAtEnd = loadavg().map((x) => round(x, 2));
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.date.slice(0, 10)}-${sha}-attack.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printTable(results);
  console.log(`\nwritten: ${file.replace(`${ROOT}/`, '')}`);
}

function printTable(r) {
  const out = [`\nauth-api attack benchmark — ${r.date} — ${r.git.sha}`];
  out.push(
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}; load avg ${r.machine.loadAvgAtStart.join(' ')} -> ${r.machine.loadAvgAtEnd.join(' ')}`,
  );
  out.push(
    `raw bcrypt at cost ${r.settings.bcryptRounds}: ${r.rawBcryptPerSec}/s; flood ${r.settings.floodX}x that over ${r.settings.accounts} accounts from ${r.settings.sources} addresses; ${r.settings.attackers} changePassword attackers (30 aliases a document); queue bound ${r.settings.queueBoundMs ?? '(unset)'} ms`,
  );
  for (const run of r.runs) {
    out.push(
      `\n== ${run.label} ${Object.keys(run.serverEnv).length ? JSON.stringify(run.serverEnv) : ''}`,
    );
    out.push(
      `  me p50/p99/max: at rest ${run.meAtRest.p50}/${run.meAtRest.p99}/${run.meAtRest.max} ms, under attack ${run.meDuringAttack.p50}/${run.meDuringAttack.p99}/${run.meDuringAttack.max} ms (p99 x${run.meP99Ratio}, errors ${run.meDuringAttack.errors})`,
    );
    out.push(
      `  normal logins ok within 2 s: at rest ${run.normalAtRest.okWithin2s}/${run.normalAtRest.attempts}, under attack ${run.normalDuringAttack.okWithin2s}/${run.normalDuringAttack.attempts} (${run.normalDuringAttack.successRate}); outcomes ${JSON.stringify(run.normalDuringAttack.outcomes)}; p99 ${run.normalDuringAttack.latencyMs.p99} ms`,
    );
    out.push(
      `  flood: ${run.flood.sent} sent (${run.flood.notSentAtClientBound} not sent: 5000 in flight), answers ${JSON.stringify(run.flood.outcomes)}; latency p50/p99/max ${run.flood.latencyMs.p50}/${run.flood.latencyMs.p99}/${run.flood.latencyMs.max} ms; refused ones p99 ${run.flood.shedLatencyMs.p99} ms`,
    );
    out.push(
      `  changePassword documents: ${run.changePasswordStorm.documents}, ${JSON.stringify(run.changePasswordStorm.outcomes)}; p99 ${run.changePasswordStorm.latencyMs.p99} ms`,
    );
    for (const [k, t] of Object.entries(run.targets))
      out.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${k.padEnd(7)} ${t.target}`);
  }
  out.push(`\ntotal ${r.totalSeconds} s`);
  console.log(out.join('\n'));
}

(env.BENCH_ATTACK_TRAFFIC ? trafficMain(JSON.parse(env.BENCH_ATTACK_TRAFFIC)) : main()).catch(
  (e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
