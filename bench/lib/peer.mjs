// The better-auth peer (bench/peers/better-auth): installed into its own
// folder with its own lockfile (never into the API's package.json), started
// on a database of its own on the same PostgreSQL server, and driven by the
// same load generator as the API.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { freePort, startNode, waitHealthy } from './common.mjs';

export const PEER_DIR = join(dirname(fileURLToPath(import.meta.url)), '../peers/better-auth');

/**
 * `npm ci` in the peer's folder when its node_modules is missing or was
 * installed from another lockfile (the lockfile's hash is kept beside it).
 */
export function ensurePeerInstalled(log = () => {}) {
  const lock = readFileSync(join(PEER_DIR, 'package-lock.json'));
  const sha = createHash('sha256').update(lock).digest('hex');
  const stamp = join(PEER_DIR, 'node_modules/.bench-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sha) return;
  log('peer: npm ci in bench/peers/better-auth');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: PEER_DIR,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error('npm ci in bench/peers/better-auth failed');
  writeFileSync(stamp, sha);
}

/** Starts the peer on `databaseUrl` (it migrates its own tables first); resolves when healthy. */
export async function startPeer(databaseUrl, env = {}) {
  const port = await freePort();
  const child = startNode([join(PEER_DIR, 'server.mjs')], {
    cwd: PEER_DIR,
    name: 'better-auth peer',
    env: {
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      BETTER_AUTH_SECRET: randomBytes(32).toString('base64url'),
      ...env,
    },
  });
  const ms = await waitHealthy(`http://127.0.0.1:${port}/health`, { child, timeoutMs: 120_000 });
  return { child, ms, base: `http://127.0.0.1:${port}/api/auth` };
}

/**
 * The headers of a browser's POST from the peer's own origin: better-auth
 * refuses a POST that looks like a browser's (fetch sends Sec-Fetch-Mode)
 * without an Origin it trusts.
 */
export function peerPostHeaders(base) {
  return { origin: new URL(base).origin };
}

async function postJson(url, body) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...peerPostHeaders(url) },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${text}`);
  return { res: r, body: JSON.parse(text) };
}

/**
 * Signs a new user up on the peer; returns its session cookie (what a
 * browser sends to get-session), its id and its email.
 */
export async function peerSignUp(base, email, password, name = 'Bench User') {
  const { res, body } = await postJson(`${base}/sign-up/email`, { email, password, name });
  const cookie = /better-auth\.session_token=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  if (!cookie) throw new Error('peer sign-up set no session cookie');
  const check = await fetch(`${base}/get-session`, { headers: { cookie } });
  const session = await check.json();
  if (session?.user?.id !== body.user.id) throw new Error('peer get-session did not answer');
  return { cookie, userId: body.user.id, email };
}

/** The peer's raw password-hash rate (better-auth's scrypt): one JSON line of scrypt-rate.mjs. */
export async function peerHashRate({ concurrency, duration, mode = 'verify' }) {
  const child = startNode([join(PEER_DIR, 'scrypt-rate.mjs')], {
    cwd: PEER_DIR,
    name: 'scrypt-rate',
    pipe: true,
    env: {
      BENCH_CONCURRENCY: String(concurrency),
      BENCH_DURATION_S: String(duration),
      BENCH_MODE: mode,
    },
  });
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`scrypt-rate.mjs failed:\n${child.tail.join('\n')}`);
  return JSON.parse(Buffer.concat(out).toString().trim().split('\n').pop());
}
