import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { displayPath } from '../common/display-path.js';

/**
 * An exclusive lock on DATA_DIR for the life of a process that opens the
 * embedded database (PGlite). PGlite is single-process: a second process
 * opening the same directory does not fail, it works on its own copy and its
 * writes are lost (or it corrupts the directory). So the server, the CLIs and
 * `npm run migrate` take this lock first, and a second one refuses at once,
 * saying who holds it and what to do.
 *
 * The lock is a file, DATA_DIR/auth-api.lock, created with O_EXCL and holding
 * who took it (pid, host, command, start time). It is removed when the
 * process closes the database or exits. A process that dies without removing
 * it (SIGKILL, a crash, a power cut) leaves a stale lock, which the next
 * process recognises and replaces:
 *  - same host: the pid is not running, or is running but is another process
 *    (on Linux the process start time from /proc no longer matches: the pid
 *    was reused), or is this process's own pid (a container restarted as pid 1);
 *  - another host (a shared volume, another container): the holder touches
 *    the file every HEARTBEAT_MS; a lock not touched for STALE_MS is stale.
 * Two processes that find the same stale lock at once replace it under a
 * second guard (a directory, mkdir being atomic), so exactly one of them ends
 * up holding the lock.
 */
export const LOCK_FILE = 'auth-api.lock';
export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 30_000;

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** How the holder was started, for people: `npm start (node dist/main.mjs)`. */
  command: string;
  cwd: string;
  startedAt: string;
  /** Linux: the process start time (field 22 of /proc/<pid>/stat), to tell a reused pid. */
  procStart?: string;
  /** Set by the server once it listens. */
  url?: string;
  /** Random: tells this lock from a later one of the same pid. */
  nonce: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
    readonly lockFile: string,
  ) {
    super(lockedMessage(dataDir, holder, lockFile));
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** The stale lock this process replaced, if there was one (to report it). */
  readonly replaced: LockHolder | undefined;
  /** Adds what others should know (the server's URL once it listens). */
  update(info: Pick<LockHolder, 'url'>): void;
  /** Removes the lock (idempotent; also done at process exit). */
  release(): void;
}

/** Linux start time of a process, or undefined elsewhere / when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** `npm start (node dist/main.mjs)`, `node dist/src/cli/set-role.js a@b.c ADMIN`, … */
export function describeCommand(argv = process.argv, env = process.env): string {
  const script = argv[1] ? relative(process.cwd(), argv[1]) || argv[1] : '';
  const node = [basename(argv[0] ?? 'node'), script, ...argv.slice(2)].filter(Boolean).join(' ');
  const event = env.npm_lifecycle_event;
  if (!event) return node;
  const npm = event === 'start' || event === 'test' ? `npm ${event}` : `npm run ${event}`;
  return `${npm} (${node})`;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

type Liveness = 'alive' | 'dead';

/** The nonces of the locks this process holds. */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function liveness(holder: LockHolder, file: string, now: number): Liveness {
  if (holder.host !== hostname()) {
    // Another machine or container: its pid means nothing here; its heartbeat does.
    const age = now - statSync(file).mtimeMs;
    return age < STALE_MS ? 'alive' : 'dead';
  }
  // This process's own pid: a lock it holds now, or one left by an earlier
  // process that had the same pid (a container restarted as pid 1).
  if (holder.pid === process.pid) return heldHere.has(holder.nonce) ? 'alive' : 'dead';
  if (!isRunning(holder.pid)) return 'dead';
  if (holder.procStart !== undefined) {
    const start = processStartTime(holder.pid);
    if (start !== undefined && start !== holder.procStart) return 'dead';
  }
  return 'alive';
}

type Read = { holder: LockHolder; raw: string } | 'missing' | 'unreadable';

function readLock(file: string): Read {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const holder = JSON.parse(raw) as LockHolder;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string') return { holder, raw };
  } catch {
    /* empty (being written) or damaged */
  }
  return 'unreadable';
}

function ageMs(path: string, now: number): number {
  try {
    return now - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Removes the stale lock whose content is `raw`, unless it has changed
 * meanwhile (another process replaced it first). Returns false when another
 * process is doing the same right now (the caller tries again).
 */
function removeStale(file: string, raw: string | undefined): boolean {
  const guard = `${file}.replacing`;
  try {
    mkdirSync(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // A process that died while replacing (a window of microseconds) leaves the guard.
    if (ageMs(guard, Date.now()) > STALE_MS) {
      try {
        rmdirSync(guard);
      } catch {
        /* removed by another process */
      }
    }
    return false;
  }
  try {
    let now: string;
    try {
      now = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw e;
    }
    if (raw === undefined || now === raw) unlinkSync(file);
    return true;
  } finally {
    rmdirSync(guard);
  }
}

/**
 * Takes the lock on `dataDir` (created if missing), or throws
 * DataDirLockedError when a live process holds it.
 */
export function lockDataDir(
  dataDir: string,
  command = describeCommand(),
  /** Tests only: runs after a stale lock was read, before it is replaced. */
  hooks: { beforeReplace?: () => void } = {},
): DataDirLock {
  // Private like everything in DATA_DIR (config/data-dir.ts).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command,
    cwd: process.cwd(),
    startedAt: new Date().toISOString(),
    procStart: processStartTime(process.pid),
    nonce: randomBytes(8).toString('hex'),
  };
  let replaced: LockHolder | undefined;
  // Bounded: each turn either takes the lock, refuses, or saw the lock
  // change hands (created, released or replaced by someone else).
  for (let attempt = 0; ; attempt++) {
    if (attempt > 200) throw new Error(`could not take the lock ${file}: it keeps changing hands`);
    try {
      writeFileSync(file, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const now = Date.now();
    const read = readLock(file);
    if (read === 'missing') continue;
    if (read === 'unreadable') {
      // Created an instant ago and not written yet, or left empty by a crash
      // between the two (then it is old).
      if (ageMs(file, now) < 2_000) sleepSync(20);
      else if (!removeStale(file, undefined)) sleepSync(20);
      continue;
    }
    if (liveness(read.holder, file, now) === 'alive') {
      throw new DataDirLockedError(dataDir, read.holder, file);
    }
    hooks.beforeReplace?.();
    if (removeStale(file, read.raw)) replaced = read.holder;
    else sleepSync(20);
  }

  let held = true;
  heldHere.add(me.nonce);
  const heartbeat = setInterval(() => {
    try {
      const t = new Date();
      utimesSync(file, t, t);
    } catch {
      /* removed under us: nothing to keep fresh */
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const release = () => {
    if (!held) return;
    held = false;
    heldHere.delete(me.nonce);
    clearInterval(heartbeat);
    process.removeListener('exit', release);
    const read = readLock(file);
    // Only our own lock: never one a later process took after ours was judged stale.
    if (typeof read === 'object' && read.holder.nonce === me.nonce) {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', release);
  return {
    file,
    replaced,
    update(info) {
      if (!held) return;
      Object.assign(me, info);
      // Rewritten in place: the file stays ours, nobody else can create it meanwhile.
      writeFileSync(file, JSON.stringify(me) + '\n');
    },
    release,
  };
}

function lockedMessage(dataDir: string, h: LockHolder, file: string): string {
  const here = h.host === hostname();
  const who = [
    `pid ${h.pid}${here ? '' : ` on host ${h.host}`}`,
    h.command,
    `started ${h.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    ...(h.cwd && h.cwd !== process.cwd() ? [`in ${h.cwd}`] : []),
    ...(h.url ? [`serving ${h.url}`] : []),
  ].join(', ');
  const rel = displayPath(resolve(dataDir));
  return [
    `DATA_DIR ${rel} is in use by another process: ${who}.`,
    'The embedded database (PGlite) can be opened by one process at a time; a second one would lose its writes.',
    'What to do:',
    ...(h.url ? [`  - to change data while that server runs, go through its API (${h.url})`] : []),
    `  - stop that process first (Ctrl+C in its terminal${here ? `, or kill ${h.pid}` : ''}), then run this again`,
    `  - or give this process its own DATA_DIR (and PORT): DATA_DIR=${rel}-2 PORT=3001 npm start`,
    '  - or use PostgreSQL (DATABASE_URL=postgresql://…) to run several processes on one database',
    here
      ? `(lock file: ${file}; a lock left by a process that is no longer running is replaced automatically)`
      : `(lock file: ${file}; it is taken over when its holder has not refreshed it for ${STALE_MS / 1000} s)`,
  ].join('\n');
}
