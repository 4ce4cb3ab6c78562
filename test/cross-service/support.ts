/**
 * Processes of the cross-service test: the auth API as `npm start` runs it
 * (the built dist/main.mjs) and the notes service of
 * examples/resource-service (`node src/server.js`, its own node_modules from
 * its own lockfile), each a child process on a free port, plus small HTTP
 * helpers. Nothing of the API's source is loaded into the test process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const SERVICE_DIR = join(ROOT, 'examples/resource-service');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** dist/main.mjs as `npm start` builds it (only when a source changed; serialised with other builds). */
export function buildApi(): void {
  const r = spawnSync(
    'flock',
    ['/tmp/auth-api-build.lock', 'node', 'scripts/build.mjs', '--if-changed'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

/** The example's dependencies, from its lockfile, when they are not installed yet. */
export function installService(): void {
  if (existsSync(join(SERVICE_DIR, 'node_modules/jose/package.json'))) return;
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: SERVICE_DIR,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`npm ci in ${SERVICE_DIR} failed:\n${r.stdout}\n${r.stderr}`);
}

export interface Proc {
  url: string;
  child: ChildProcess;
  /** stdout and stderr lines so far. */
  lines: string[];
  /** Resolves with the first line (parsed JSON) matching, including lines already seen. */
  waitForLine(pred: (line: any) => boolean, ms?: number): Promise<any>;
  stop(): Promise<void>;
}

function startProcess(
  what: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  url: string,
): Promise<Proc> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pred: (l: any) => boolean; resolve: (l: any) => void }[] = [];
  const onLine = (line: string) => {
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
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const waitForLine = (pred: (l: any) => boolean, ms = 60_000) => {
    for (const l of lines) {
      try {
        if (pred(JSON.parse(l))) return Promise.resolve(JSON.parse(l));
      } catch {
        /* not JSON */
      }
    }
    return new Promise<any>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${what}: no such line within ${ms} ms:\n${lines.join('\n')}`)),
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
        reject(new Error(`${what} exited (${child.exitCode}):\n${lines.join('\n')}`));
      });
    });
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(t);
  };
  return waitForLine((l) => l.event === 'listening', 120_000).then(() => ({
    url,
    child,
    lines,
    waitForLine,
    stop,
  }));
}

/** The Node flags of package.json's start script (`node --flag… dist/main.mjs`). */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return (pkg.scripts.start as string).split(/\s+/).filter((a) => a.startsWith('--'));
}

/** The API as `npm start` runs it, with this environment, on `port` (a free one when absent). */
export async function startApi(env: Record<string, string>, port?: number): Promise<Proc> {
  const p = port ?? (await freePort());
  return startProcess(
    `auth API on ${p}`,
    [...startFlags(), 'dist/main.mjs'],
    ROOT,
    { HOST: '127.0.0.1', PORT: String(p), ...env },
    `http://127.0.0.1:${p}`,
  );
}

/** The notes service of examples/resource-service, as its README starts it. */
export async function startNotesService(env: Record<string, string>): Promise<Proc> {
  const p = await freePort();
  return startProcess(
    `notes service on ${p}`,
    ['src/server.js'],
    SERVICE_DIR,
    { HOST: '127.0.0.1', PORT: String(p), ...env },
    `http://127.0.0.1:${p}`,
  );
}

export interface GqlAnswer {
  status: number;
  wwwAuthenticate: string | null;
  data?: any;
  errors?: { message: string; extensions?: { code?: string } }[];
  /** The first error's extensions.code. */
  code?: string;
}

/** A GraphQL POST (JSON) to `url` with an optional raw Authorization header value. */
export async function gql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  authorization?: string,
): Promise<GqlAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: GqlAnswer['errors'] };
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    data: body.data,
    errors: body.errors,
    code: body.errors?.[0]?.extensions?.code,
  };
}
