import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/config/app-config.js';
import { openDatabase } from '../../src/database/prisma.js';

/** Every path under `dir` (itself included) that the group or others may use. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) found.push(`${(st.mode & 0o777).toString(8)} ${path}`);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return found;
}

/**
 * Issue 15, hole 9: DATA_DIR (the embedded database, the development secret)
 * is readable by its owner only, and a short development secret is refused.
 */
describe('DATA_DIR is private', () => {
  const root = mkdtempSync(join(tmpdir(), 'auth-data-dir-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a new DATA_DIR, its secret and the embedded database (pgdata) are 0700 folders and 0600 files, even with umask 000', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const umask = process.umask(0);
    try {
      const config = await loadAppConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
      const db = await openDatabase(config);
      try {
        await db.prisma.user.count();
      } finally {
        await db.close();
      }
    } finally {
      process.umask(umask);
    }
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'jwt-access-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'pgdata')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dataDir, 'pgdata')).length).toBeGreaterThan(5);
    expect(openToOthers(dataDir)).toEqual([]);
    // A new embedded database is an initdb: seconds alone, minutes on a busy shared machine.
  }, 300_000);

  it('an existing DATA_DIR open to others is made 0700', async () => {
    const dataDir = join(root, 'loose');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    await loadAppConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('a secret file shorter than 32 characters is refused with what to do (not used, not replaced)', async () => {
    const dataDir = join(root, 'short');
    mkdirSync(dataDir, { mode: 0o700 });
    const file = join(dataDir, 'jwt-access-secret');
    writeFileSync(file, 'too-short-secret\n', { mode: 0o600 });
    await expect(loadAppConfig({ NODE_ENV: 'test', DATA_DIR: dataDir })).rejects.toThrow(
      /jwt-access-secret holds a secret of 16 characters; at least 32[\s\S]*Delete the file[\s\S]*JWT_ACCESS_SECRET/,
    );
    expect(readFileSync(file, 'utf8')).toBe('too-short-secret\n');
    // JWT_ACCESS_SECRET wins over the file.
    const secret = 'x'.repeat(16) + 'y'.repeat(16);
    expect(
      (await loadAppConfig({ DATA_DIR: dataDir, JWT_ACCESS_SECRET: secret })).jwtAccessSecret,
    ).toBe(secret);
  });
});
