/**
 * What every browser test needs: the server and the React example built once
 * per run (global-setup.ts), a stack started per test file (the API on its own
 * embedded database, `vite preview` serving the built example and proxying
 * /graphql to it, same origin as a team would deploy it, and Chromium), and a
 * recorder of the GraphQL traffic the page sends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLE = join(ROOT, 'examples/react-apollo');
/** Screenshots and the builds of the run. */
export const OUT = join(ROOT, 'test-results');
const BUILD = join(OUT, '.browser-build');
export const SERVER_MAIN = join(BUILD, 'server/src/main.js');
export const WEB_OUT = join(BUILD, 'web');
const VITE = join(EXAMPLE, 'node_modules/vite/bin/vite.js');

// `npm run test:browser` (vitest.browser.config.ts sets BROWSER_TEST=1) must run
// the browser tests: a missing browser is then a failure, not a skip.
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.BROWSER_TEST === '1') {
  throw new Error(
    `${CHROMIUM} is missing: run scripts/install-chromium.sh (npm run test:browser does)`,
  );
}

// ---- processes ----------------------------------------------------------------

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  /** Accept a failed exit when this file was produced anyway (tsc emits despite type errors). */
  producedAnyway?: string,
): void {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: 'pipe',
  });
  if (r.status !== 0 && producedAnyway && existsSync(producedAnyway)) {
    // Type errors are `npm run typecheck`'s business; this test needs the emitted JS.
    console.warn(`${cmd} ${args.join(' ')} reported errors (output emitted anyway):\n${r.stdout}`);
    return;
  }
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
}

export function start(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

export async function waitForHttp(url: string, proc: Proc, what: string): Promise<void> {
  // A first start on a new DATA_DIR (initdb) takes over a minute on a busy shared machine.
  const deadline = Date.now() + 200_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) {
      throw new Error(`${what} exited (${proc.child.exitCode}):\n${proc.output()}`);
    }
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(150);
  }
  throw new Error(`${what} did not answer at ${url}:\n${proc.output()}`);
}

export function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
    p.child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    p.child.kill('SIGTERM');
  });
}

// ---- the builds (once per run: global-setup.ts) ----------------------------------

/** The server from src (tsc into a folder of its own; dist/ is left alone) and the example. */
export function buildAll(): void {
  mkdirSync(OUT, { recursive: true });
  const serverOut = dirname(dirname(SERVER_MAIN));
  rmSync(serverOut, { recursive: true, force: true });
  run(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      serverOut,
    ],
    ROOT,
    {},
    SERVER_MAIN,
  );
  // The example: its own dependencies (npm ci if missing), then a production build.
  if (!existsSync(VITE)) run('npm', ['ci', '--no-audit', '--no-fund'], EXAMPLE);
  run(
    process.execPath,
    [VITE, 'build', '--outDir', WEB_OUT, '--emptyOutDir', '--logLevel', 'warn'],
    EXAMPLE,
    { VITE_EXPOSE_CLIENT: 'true' },
  );
}

// ---- a stack per test file ----------------------------------------------------------

export interface Stack {
  /** The page's origin (vite preview, which proxies /graphql to the API). */
  base: string;
  /** The API itself. */
  apiUrl: string;
  /** The folder of this stack (the API's DATA_DIR is `${work}/data`). */
  work: string;
  api: Proc;
  context: BrowserContext;
  /** The first tab. */
  page: Page;
  /** Every GraphQL request of every page, with its answer once it has arrived. */
  calls: GqlCall[];
  close(): Promise<void>;
}

/**
 * The API (built by buildAll) on an embedded database of its own, in cookie
 * mode by default, `vite preview` in front of it and a Chromium profile.
 * `env` adds to or overrides the API's environment.
 */
export async function startStack(env: NodeJS.ProcessEnv = {}): Promise<Stack> {
  if (!existsSync(SERVER_MAIN) || !existsSync(WEB_OUT)) buildAll();
  const work = mkdtempSync(join(tmpdir(), 'auth-browser-'));
  const apiPort = await freePort();
  const webPort = await freePort();
  const base = `http://127.0.0.1:${webPort}`;
  const api = start(process.execPath, [SERVER_MAIN], ROOT, {
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    DATA_DIR: join(work, 'data'),
    DATABASE_URL: '',
    REDIS_URL: '',
    AUTH_REFRESH_COOKIE: 'true',
    AUTH_COOKIE_SAMESITE: 'strict',
    BCRYPT_ROUNDS: '4',
    // A test makes many refreshes and logins from one IP; the limits are not what it tests.
    AUTH_RATE_LIMIT: '1000',
    LOG_LEVEL: 'warn',
    // The links in the API's mails open the example's pages.
    APP_URL: base,
    ...env,
  });
  let web: Proc | undefined;
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close().catch(() => undefined);
    await Promise.all([stop(web), stop(api)]);
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHttp(`${apiUrl}/health`, api, 'the API');
    web = start(
      process.execPath,
      [
        VITE,
        'preview',
        '--outDir',
        WEB_OUT,
        '--host',
        '127.0.0.1',
        '--port',
        String(webPort),
        '--strictPort',
      ],
      EXAMPLE,
      { API_URL: apiUrl },
    );
    await waitForHttp(base + '/', web, 'vite preview');
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
      viewport: { width: 1100, height: 900 },
    });
    const calls: GqlCall[] = [];
    context.on('request', (req) => recordGraphql(req, calls));
    const page = context.pages()[0] ?? (await context.newPage());
    return { base, apiUrl, work, api, context, page, calls, close };
  } catch (e) {
    await close();
    throw e;
  }
}

// ---- GraphQL traffic as the browser sends it ------------------------------------

export interface GqlCall {
  page: Page | null;
  op: string;
  bearer: boolean;
  /** The parsed JSON answer, once it has arrived. */
  body?: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
}

function recordGraphql(req: Request, calls: GqlCall[]): void {
  if (req.method() !== 'POST' || !new URL(req.url()).pathname.startsWith('/graphql')) return;
  let op = '?';
  try {
    op = (JSON.parse(req.postData() ?? '{}') as { operationName?: string }).operationName ?? '?';
  } catch {
    /* not JSON */
  }
  const call: GqlCall = { page: req.frame().page(), op, bearer: !!req.headers()['authorization'] };
  calls.push(call);
  void req
    .response()
    .then((r) => r?.json())
    .then((b) => (call.body = b as GqlCall['body']))
    .catch(() => undefined);
}

/** The calls since index `mark`, of one operation and/or one page. */
export const since = (calls: GqlCall[], mark: number, op?: string, page?: Page) =>
  calls.slice(mark).filter((c) => (!op || c.op === op) && (!page || c.page === page));
export const codeOf = (c: GqlCall) => c.body?.errors?.[0]?.extensions?.code;
export const isOk = (c: GqlCall) => !!c.body?.data && !c.body.errors?.length;
