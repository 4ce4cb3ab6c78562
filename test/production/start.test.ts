import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, freePort, ROOT } from './support.js';

/**
 * `npm start` as a newcomer runs it: the build only when a source changed,
 * a first screen without framework narration that ends with one line saying
 * where the API is, what database it uses, whether cookie mode is on and
 * where the development secrets came from; and a plain message when the
 * port is taken.
 */
beforeAll(() => buildServer(), 300_000);

const work = mkdtempSync(join(tmpdir(), 'auth-api-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const baseEnv = () => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  BCRYPT_ROUNDS: '4',
});

/** `npm start` until its "Ready:" line, then stopped (SIGTERM to its process group). */
async function npmStart(env: Record<string, string>): Promise<{ lines: string[]; ready: string }> {
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  /** The screen when the Ready line came (stopping adds lines after it). */
  let atReady: string | undefined;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no Ready line:\n${stdout}\n${stderr}`)),
        180_000,
      );
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        // The line and the blank line after it.
        if (atReady === undefined && /^Ready: .*\n\n/m.test(stdout)) {
          atReady = stdout;
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${code}):\n${stdout}\n${stderr}`));
      });
    });
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  const lines = (atReady ?? '').split('\n').filter((l) => l.trim() !== '');
  return { lines, ready: lines.find((l) => l.startsWith('Ready: '))! };
}

describe('npm start', () => {
  it('first start on a new DATA_DIR: a short screen ending with the Ready line; the second start does not rebuild', async () => {
    const dataDir = join(work, 'data');
    const port = await freePort();
    const builtAt = statSync(join(ROOT, 'dist/main.mjs')).mtimeMs;

    const first = await npmStart({ PORT: String(port), DATA_DIR: dataDir });
    expect(first.lines.join('\n')).toContain('Build up to date');
    expect(first.lines.join('\n')).not.toContain('Building');
    // The last line is the one a person reads.
    expect(first.lines.at(-1)).toBe(first.ready);
    const url = `http://127.0.0.1:${port}`;
    expect(first.ready).toContain(`Ready: ${url}/graphql`);
    expect(first.ready).toContain(`${url}/graphiql (GraphiQL, offline)`);
    expect(first.ready).toContain('Apollo Sandbox, needs the internet');
    expect(first.ready).toContain(`database: embedded PGlite in ${dataDir}`);
    expect(first.ready).toContain('cookie mode: off');
    expect(first.ready).toMatch(
      new RegExp(
        `development secret and keys: generated now in ${dataDir} \\([^)]*jwt-access-secret`,
      ),
    );
    // No framework narration, no bundler output that reads like a missing package.
    for (const line of first.lines) {
      expect(line).not.toMatch(
        /InstanceLoader|RoutesResolver|RouterExplorer|Mapped \{|Nest application/,
      );
      expect(line).not.toMatch(/not installed|left out/);
    }
    // npm's own 4 lines, the build check, a line or two of the modules'
    // settings, the JSON "listening" line and the Ready line, plus one line
    // per migration applied to the new database.
    expect(first.lines.filter((l) => !l.includes('Applied migration')).length).toBeLessThanOrEqual(
      12,
    );

    const second = await npmStart({
      PORT: String(port),
      DATA_DIR: dataDir,
      AUTH_REFRESH_COOKIE: 'true',
    });
    expect(second.lines.join('\n')).toContain('Build up to date');
    expect(second.ready).toContain('cookie mode: on');
    expect(second.ready).toMatch(
      new RegExp(`development secret and keys: from ${dataDir} \\([^)]*jwt-access-secret`),
    );
    expect(second.ready).not.toContain('generated now');
    // Neither start rebuilt the bundle.
    expect(statSync(join(ROOT, 'dist/main.mjs')).mtimeMs).toBe(builtAt);
  }, 400_000);

  it('a source edit makes a build due; touching a file without changing it does not', () => {
    // A copy of the build's inputs with the current stamp (node_modules linked).
    const copy = join(work, 'tree');
    for (const p of [
      'src',
      'prisma/schema.prisma',
      'scripts',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'dist/.build-stamp',
    ]) {
      cpSync(join(ROOT, p), join(copy, p), { recursive: true });
    }
    mkdirSync(join(copy, 'dist'), { recursive: true });
    writeFileSync(join(copy, 'dist/main.mjs'), '');
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const check = () =>
      spawnSync(process.execPath, ['scripts/build.mjs', '--check'], {
        cwd: copy,
        encoding: 'utf8',
      });

    expect(check().status).toBe(0);
    const file = join(copy, 'src/main.ts');
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect(check().status).toBe(0);
    writeFileSync(file, readFileSync(file, 'utf8') + '\n// edited\n');
    const due = check();
    expect(due.status).toBe(1);
    expect(due.stdout).toContain('the sources changed');
  }, 60_000);

  it('a taken port: says so and how to choose another, no stack trace; DATA_DIR is released', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = join(work, 'taken');
    try {
      const r = spawnSync(process.execPath, ['dist/main.mjs'], {
        cwd: ROOT,
        env: { ...baseEnv(), PORT: String(port), DATA_DIR: dataDir },
        encoding: 'utf8',
        timeout: 180_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(r.stderr).toMatch(/start this one on another port: PORT=\d+ npm start/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr + r.stdout).not.toContain('"stack"');
      expect(r.stdout).not.toContain('Ready:');
      // The lock went with the process: the next start is not refused.
      expect(() => statSync(join(dataDir, 'auth-api.lock'))).toThrow();
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 240_000);
});
