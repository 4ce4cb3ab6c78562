import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServer,
  email,
  freePort,
  gqlAt,
  LOGIN,
  REGISTER,
  ROOT,
  startServer,
} from './support.js';

/**
 * One embedded database, one process: the built server holds DATA_DIR for
 * its life. A second server, or `npm run migrate`, on the same DATA_DIR
 * refuses at once, naming the holder; a server killed outright (SIGKILL)
 * leaves a stale lock that the next start replaces, and the data is there.
 */
beforeAll(() => buildServer(), 300_000);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runToExit(args: string[], env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the DATA_DIR lock between real processes', () => {
  let dataDir: string;
  const env = () => ({ NODE_ENV: 'development', DATA_DIR: dataDir, BCRYPT_ROUNDS: '4' });

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-api-lock-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a second server and `npm run migrate` refuse while one runs; after a SIGKILL the next start takes over', async () => {
    const first = await startServer(env());
    const firstPid = first.child.pid!;
    try {
      const user = email('lock');
      const password = 'long enough password';
      expect(
        (await gqlAt(first.url, REGISTER, { i: { email: user, password } })).errors,
      ).toBeUndefined();

      // A second server on the same DATA_DIR (another port).
      const second = await runToExit(['dist/main.mjs'], {
        ...env(),
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
      });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(
        `is in use by another process: pid ${firstPid}, node dist/main.mjs`,
      );
      expect(second.stderr).toContain(`serving ${first.url}/graphql`);
      expect(second.stderr).toContain(`kill ${firstPid}`);
      expect(second.stderr).toMatch(/DATA_DIR=\S+ PORT=\d+ npm start/);
      // A message, not a stack trace or a log line.
      expect(second.stderr).not.toMatch(/^\s+at /m);
      expect(second.stdout).toBe('');

      // A CLI on the same DATA_DIR: npm run migrate.
      const migrate = await runToExit(
        [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/migrate.ts'],
        env(),
      );
      expect(migrate.code).toBe(1);
      expect(migrate.stderr).toContain(`pid ${firstPid}`);

      // The first server is unharmed.
      expect(
        (await gqlAt(first.url, LOGIN, { i: { email: user, password } })).errors,
      ).toBeUndefined();

      // Killed outright: no chance to remove its lock.
      first.kill('SIGKILL');
      await first.exited;
      const lockFile = join(dataDir, 'auth-api.lock');
      expect(existsSync(lockFile)).toBe(true);
      expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(firstPid);

      const next = await startServer(env());
      try {
        const replaced = await next.waitForLine(
          (l) => typeof l.msg === 'string' && l.msg.includes('stale lock'),
        );
        expect(replaced.level).toBe('warn');
        expect(replaced.msg).toContain(`pid ${firstPid}`);
        expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(next.child.pid);
        // What the first server wrote is there.
        expect(
          (await gqlAt(next.url, LOGIN, { i: { email: user, password } })).errors,
        ).toBeUndefined();
      } finally {
        next.kill('SIGTERM');
        expect(await next.exited).toBe(0);
      }
      // A clean stop removes the lock.
      expect(existsSync(lockFile)).toBe(false);
    } finally {
      first.kill('SIGKILL');
    }
  }, 240_000);
});
