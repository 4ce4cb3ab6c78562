import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DataDirLockedError,
  LOCK_FILE,
  lockDataDir,
  processStartTime,
  STALE_MS,
  type LockHolder,
} from '../../src/database/data-dir-lock.js';

/**
 * The DATA_DIR lock's decisions, against real processes: who counts as
 * holding it, what replaces a stale one, and that processes racing for a
 * stale lock end with exactly one holder. The server and CLIs refusing each
 * other: test/production/data-dir-lock.test.ts.
 */
const ROOT = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'auth-lock-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A pid that was a process a moment ago and is not one now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

/** A live process that is not this one. */
function liveChild(): ChildProcess {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

function plant(dir: string, holder: Partial<LockHolder>): string {
  const file = join(dir, LOCK_FILE);
  const full: LockHolder = {
    pid: 1,
    host: hostname(),
    command: 'npm start (node dist/main.mjs)',
    cwd: '/somewhere/else',
    startedAt: '2026-12-01T10:00:00.000Z',
    nonce: 'planted',
    ...holder,
  };
  writeFileSync(file, JSON.stringify(full));
  return file;
}

const holderIn = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as LockHolder;

describe('DATA_DIR lock', () => {
  it('is taken, names its holder, refuses a second taker in the same process, and is removed on release', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir, 'first');
    expect(holderIn(lock.file)).toMatchObject({ pid: process.pid, command: 'first' });
    expect(() => lockDataDir(dir, 'second')).toThrow(DataDirLockedError);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
    const again = lockDataDir(dir, 'third');
    expect(holderIn(again.file).command).toBe('third');
    again.release();
  });

  it('a live holder: refused with its pid, command and what to do', () => {
    const dir = tempDir();
    const child = liveChild();
    plant(dir, {
      pid: child.pid!,
      procStart: processStartTime(child.pid!),
      url: 'http://localhost:3000/graphql',
    });
    let error: unknown;
    try {
      lockDataDir(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    const message = (error as Error).message;
    expect(message).toContain(`pid ${child.pid}`);
    expect(message).toContain('npm start (node dist/main.mjs)');
    expect(message).toContain('serving http://localhost:3000/graphql');
    expect(message).toContain(`kill ${child.pid}`);
    expect(message).toMatch(/DATA_DIR=\S+ PORT=\d+ npm start/);
    // The holder's lock is left as it was.
    expect(holderIn(join(dir, LOCK_FILE)).nonce).toBe('planted');
  });

  it('a holder that is no longer running: its lock is replaced, and reported', () => {
    const dir = tempDir();
    const pid = deadPid();
    plant(dir, { pid });
    const lock = lockDataDir(dir, 'next');
    expect(lock.replaced?.pid).toBe(pid);
    expect(holderIn(lock.file)).toMatchObject({ pid: process.pid, command: 'next' });
    lock.release();
  });

  it.skipIf(process.platform !== 'linux')(
    'a pid that now belongs to another process (start time differs) is a stale lock',
    () => {
      const dir = tempDir();
      const child = liveChild();
      const start = processStartTime(child.pid!)!;
      plant(dir, { pid: child.pid!, procStart: String(Number(start) - 1000) });
      const lock = lockDataDir(dir);
      expect(lock.replaced?.pid).toBe(child.pid);
      lock.release();
    },
  );

  it("this process's own pid in a lock it does not hold (a restarted container's pid 1) is stale", () => {
    const dir = tempDir();
    plant(dir, { pid: process.pid, nonce: 'an earlier life' });
    const lock = lockDataDir(dir);
    expect(lock.replaced?.nonce).toBe('an earlier life');
    lock.release();
  });

  it('another host: held while its heartbeat is fresh, replaced when it stopped', () => {
    const dir = tempDir();
    const file = plant(dir, { pid: process.pid + 1, host: 'another-container' });
    expect(() => lockDataDir(dir)).toThrow(/pid \d+ on host another-container/);
    const old = new Date(Date.now() - STALE_MS - 5_000);
    utimesSync(file, old, old);
    const lock = lockDataDir(dir);
    expect(lock.replaced?.host).toBe('another-container');
    lock.release();
  });

  it('release never removes a lock that another process took after this one', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    // As if this process had been judged stale and replaced.
    plant(dir, { pid: deadPid(), nonce: 'someone else' });
    lock.release();
    expect(holderIn(join(dir, LOCK_FILE)).nonce).toBe('someone else');
  });

  /** test/support/lock-child.ts: tries once at "go", says "acquired" or "refused". */
  function lockChild(dir: string, resumeFile?: string) {
    const c = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'test/support/lock-child.ts'),
        dir,
        ...(resumeFile ? [resumeFile] : []),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.push(c);
    const lines = createInterface({ input: c.stdout! });
    const next = () => new Promise<string>((r) => lines.once('line', r));
    return { c, next, go: () => c.stdin!.write('go\n') };
  }

  it('two processes find the same stale lock; the one that replaces it second does not take it from the first', async () => {
    const dir = tempDir();
    plant(dir, { pid: deadPid() });
    const resume = join(dir, 'resume');
    const slow = lockChild(dir, resume);
    const fast = lockChild(dir);
    expect(await Promise.all([slow.next(), fast.next()])).toEqual(['ready', 'ready']);
    // The slow one has read the stale lock and stops before replacing it.
    slow.go();
    expect(await slow.next()).toBe('paused');
    // Meanwhile the fast one replaces it and holds the lock.
    fast.go();
    expect(await fast.next()).toBe('acquired');
    const slowOutcome = slow.next();
    writeFileSync(resume, '');
    expect(await slowOutcome).toBe('refused');
    expect(holderIn(join(dir, LOCK_FILE)).pid).toBe(fast.c.pid);
    slow.c.stdin!.end();
    fast.c.stdin!.end();
  }, 60_000);

  it('processes racing for one stale lock: exactly one gets it', async () => {
    const dir = tempDir();
    plant(dir, { pid: deadPid() });
    const n = 5;
    const procs = Array.from({ length: n }, () => lockChild(dir));
    // Barrier: every process is loaded and waiting before any of them tries.
    expect(await Promise.all(procs.map((p) => p.next()))).toEqual(Array(n).fill('ready'));
    const outcomes = procs.map((p) => p.next());
    for (const p of procs) p.go();
    const results = await Promise.all(outcomes);
    expect(results.filter((r) => r === 'acquired')).toHaveLength(1);
    expect(results.filter((r) => r === 'refused')).toHaveLength(n - 1);
    const winner = procs[results.indexOf('acquired')].c.pid;
    expect(holderIn(join(dir, LOCK_FILE)).pid).toBe(winner);
    for (const p of procs) p.c.stdin!.end();
  }, 60_000);
});
