import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { createPgDatabase, type OwnedDatabase } from '../support/databases.js';

/** The shared PostgreSQL server of the machine (trust auth, database `test`). */
export { PG_SERVER_URL as PG_BASE, REDIS_SERVER_URL as REDIS_BASE } from '../support/services.js';
import { PG_SERVER_URL as PG_BASE } from '../support/services.js';
export const ROOT = new URL('../../', import.meta.url).pathname;

/** A fresh database on the shared server, owned by this test and dropped at the end. */
export function createDatabase(): Promise<OwnedDatabase> {
  return createPgDatabase(PG_BASE, 'authprod');
}

/** Runs SQL on a database the test owns. */
export async function sql<T extends pg.QueryResultRow = any>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

export function randomPrefix(): string {
  return `authtest:${randomBytes(6).toString('hex')}:`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until && i < 1000; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A throwaway Redis of this test (not the shared one), on its own port, so
 * that the test can stop and start it.
 */
export async function startRedis(port?: number): Promise<{
  url: string;
  port: number;
  stop(): Promise<void>;
}> {
  const p = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  await waitFor(() => canConnect(p), `redis-server on ${p}`);
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A TCP proxy in front of a server (PostgreSQL here) that the test can cut:
 * `cut()` resets every open connection and refuses new ones (what clients see
 * when the database is stopped); `freeze()` keeps connections open but
 * forwards nothing (a network partition: only timeouts help); `restore()`
 * forwards again (connections held while frozen are dropped).
 */
export async function tcpProxy(target: { host: string; port: number }): Promise<{
  port: number;
  cut(): void;
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}> {
  let mode: 'up' | 'cut' | 'frozen' = 'up';
  const pairs = new Set<{ client: net.Socket; upstream?: net.Socket }>();
  const server = net.createServer((client) => {
    const pair: { client: net.Socket; upstream?: net.Socket } = { client };
    client.on('error', () => undefined);
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    pairs.add(pair);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (mode === 'frozen') return; // accepted, never answered
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = (reset: boolean) => {
    for (const p of pairs) {
      if (reset) p.client.resetAndDestroy();
      else p.client.destroy();
      p.upstream?.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    cut() {
      mode = 'cut';
      dropAll(true);
    },
    freeze() {
      mode = 'frozen';
      for (const p of pairs) {
        if (!p.upstream) continue;
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
      }
    },
    restore() {
      if (mode === 'frozen') dropAll(false);
      mode = 'up';
    },
    async close() {
      mode = 'cut';
      dropAll(false);
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Builds what `npm start` runs (tsc, then the one-file bundle dist/main.mjs)
 * as `npm start` does: only when a source changed since the last build
 * (scripts/build.mjs --if-changed); serialised with other builds of this suite.
 */
export function buildServer(): void {
  const r = spawnSync(
    'flock',
    ['/tmp/auth-api-build.lock', 'node', 'scripts/build.mjs', '--if-changed'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every stdout line so far (JSON log lines). */
  lines: string[];
  stderr: string[];
  waitForLine(pred: (line: any) => boolean, ms?: number): Promise<any>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** The Node flags of package.json's start script (`node --flag… dist/main.mjs`). */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return (pkg.scripts.start as string).split(/\s+/).filter((a) => a.startsWith('--'));
}

/** The server as `npm start` runs it, with this environment, until its "listening" log line. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...startFlags(), 'dist/main.mjs'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters: { pred: (l: any) => boolean; resolve: (l: any) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    let parsed: any;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    for (const w of [...waiters]) {
      if (w.pred(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const waitForLine = (pred: (l: any) => boolean, ms = 30_000) => {
    for (const l of lines) {
      try {
        const p = JSON.parse(l);
        if (pred(p)) return Promise.resolve(p);
      } catch {
        /* not JSON */
      }
    }
    return new Promise<any>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `no such log line within ${ms} ms:\n${lines.join('\n')}\n${stderr.join('\n')}`,
            ),
          ),
        ms,
      );
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
      void exited.then(() => {
        clearTimeout(t);
        reject(new Error(`server exited:\n${lines.join('\n')}\n${stderr.join('\n')}`));
      });
    });
  };
  await waitForLine((l) => l.event === 'listening', 60_000);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    lines,
    stderr,
    waitForLine,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

/** A GraphQL POST to any URL (the one in test/support/app.ts). */
export { gqlAt } from '../support/app.js';

export const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id email } } }`;
export const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id } } }`;
export const REFRESH = `mutation($i: RefreshTokenInput) { refreshToken(input: $i) { accessToken refreshToken } }`;
export const LOGOUT = `mutation($i: LogoutInput) { logout(input: $i) }`;
export const ME = `{ me { id email } }`;

export function email(tag: string): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.com`;
}
