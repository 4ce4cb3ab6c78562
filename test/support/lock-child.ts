/**
 * A process that tries to take the DATA_DIR lock (test/unit/data-dir-lock.test.ts):
 * prints "ready", waits for a line on stdin (the barrier), tries once, prints
 * "acquired" or "refused", then holds what it got until stdin closes.
 * With a third argument (a file name), it stops after reading a stale lock,
 * prints "paused", and goes on once that file exists.
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataDirLockedError, lockDataDir } from '../../src/database/data-dir-lock.js';

const [dir, resumeFile] = process.argv.slice(2);
const beforeReplace = resumeFile
  ? () => {
      process.stdout.write('paused\n');
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(resumeFile)) Atomics.wait(nap, 0, 0, 10);
    }
  : undefined;
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.once('line', () => {
  try {
    const lock = lockDataDir(dir, 'lock-child', { beforeReplace });
    process.stdout.write('acquired\n');
    lines.once('close', () => lock.release());
  } catch (e) {
    process.stdout.write(e instanceof DataDirLockedError ? 'refused\n' : `error ${String(e)}\n`);
  }
});
