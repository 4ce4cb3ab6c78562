import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { devSecretFile } from '../../src/config/data-dir.js';

// linkSync can be made to fail like a file system without hard links; it is the real one otherwise.
const linkFails = vi.hoisted(() => ({ code: null as string | null }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const linkSync: typeof real.linkSync = (from, to) => {
    if (linkFails.code) throw Object.assign(new Error('link refused'), { code: linkFails.code });
    real.linkSync(from, to);
  };
  return { ...real, default: { ...real, linkSync }, linkSync };
});

/** The one way a development secret is kept in DATA_DIR (jwt-access-secret, mfa-encryption-key, jwt-signing-key-*.pem). */
describe('devSecretFile', () => {
  const root = mkdtempSync(join(tmpdir(), 'auth-dev-secret-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  afterEach(() => {
    linkFails.code = null;
  });
  let n = 0;
  const freshDir = () => join(root, `d${++n}`, 'data');
  /** A generate() during which another process creates the file: it runs after the read found none. */
  const otherWritesFirst = (dir: string, theirs: string) => () => {
    writeFileSync(join(dir, 'secret'), theirs);
    return 'good-mine\n';
  };
  const check = (text: string) => {
    if (!text.startsWith('good')) throw new Error(`refused: ${text}`);
    return text.trim();
  };

  it('without a file: generates once, in a 0600 file of a 0700 folder (even with umask 000), no temporary file left; then reads it', () => {
    const dir = freshDir();
    const generate = vi.fn(() => 'good-1\n');
    const umask = process.umask(0);
    let first: string;
    try {
      first = devSecretFile(dir, 'secret', generate, check);
    } finally {
      process.umask(umask);
    }
    expect(first).toBe('good-1');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['secret']);
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe('good-1\n');
    expect(devSecretFile(dir, 'secret', () => 'good-2\n', check)).toBe('good-1');
    expect(generate).toHaveBeenCalledTimes(1);
  });

  it("an existing file that fails the caller's check is refused with the caller's error, not replaced", () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'secret'), 'bad\n');
    const generate = vi.fn(() => 'good\n');
    expect(() => devSecretFile(dir, 'secret', generate, check)).toThrow('refused: bad');
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe('bad\n');
    expect(generate).not.toHaveBeenCalled();
  });

  it('another process creating the file between the read and the write wins: its value is used and kept', () => {
    const dir = freshDir();
    expect(devSecretFile(dir, 'secret', otherWritesFirst(dir, 'good-theirs\n'), check)).toBe(
      'good-theirs',
    );
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe('good-theirs\n');
    expect(readdirSync(dir)).toEqual(['secret']);
  });

  it("the winner's file is checked too: a bad one written by the other process is refused", () => {
    const dir = freshDir();
    const generate = otherWritesFirst(dir, 'bad-theirs\n');
    expect(() => devSecretFile(dir, 'secret', generate, check)).toThrow('refused: bad-theirs');
  });

  it.each(['EPERM', 'ENOTSUP'])(
    'a file system without hard links (%s): written in place with wx, still 0600, still not clobbering',
    (code) => {
      linkFails.code = code;
      const dir = freshDir();
      expect(devSecretFile(dir, 'secret', () => 'good-1\n', check)).toBe('good-1');
      expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(['secret']);
      const other = freshDir();
      const generate = otherWritesFirst(other, 'good-theirs\n');
      expect(devSecretFile(other, 'secret', generate, check)).toBe('good-theirs');
      expect(readFileSync(join(other, 'secret'), 'utf8')).toBe('good-theirs\n');
    },
  );

  it('another link error is thrown, and no temporary file is left', () => {
    linkFails.code = 'EIO';
    const dir = freshDir();
    expect(() => devSecretFile(dir, 'secret', () => 'good\n', check)).toThrow('link refused');
    expect(readdirSync(dir)).toEqual([]);
  });
});
