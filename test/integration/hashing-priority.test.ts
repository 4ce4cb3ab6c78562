import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LoginDocument } from '../generated/graphql.js';
import { startTestApp } from '../support/app.js';
import { op, PASSWORD, register } from './helpers.js';

/**
 * The nice value of each thread of this process (the app runs in it), from
 * /proc/self/task/<tid>/stat: field 19, counted after the command name's
 * closing parenthesis.
 */
function threadNices(): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push(Number(fields[16]));
    } catch {
      // the thread ended while we read
    }
  }
  return out;
}
const niced = () => threadNices().filter((n) => n === 19).length;

/**
 * Issue 16, "under attack": password hashing must never take the cores the
 * requests need. bcrypt runs on threads of its own at nice 19 (Linux), so a
 * flood of logins uses idle cycles only.
 */
describe.runIf(process.platform === 'linux')('password hashing runs at a lower priority', () => {
  it('bcrypt runs on PASSWORD_HASH_CONCURRENCY threads at nice 19, the event loop stays at 0; they end with the app', async () => {
    expect(niced()).toBe(0);
    const t = await startTestApp({ PASSWORD_HASH_CONCURRENCY: '2', BCRYPT_ROUNDS: '4' });
    try {
      const users = await Promise.all([register(t), register(t), register(t)]);
      const logins = await Promise.all(
        users.map((u) => op(t, LoginDocument, { input: { email: u.email, password: PASSWORD } })),
      );
      for (const l of logins) expect(l.errors).toBeUndefined();
      // Two hashing threads (the concurrency), both niced; this thread (the event loop) is not.
      expect(niced()).toBe(2);
      const self = readFileSync('/proc/thread-self/stat', 'utf8');
      expect(Number(self.slice(self.lastIndexOf(')') + 2).split(' ')[16])).toBe(0);
    } finally {
      await t.close();
    }
    expect(niced()).toBe(0);
  });

  it('PASSWORD_HASH_NICE=0 leaves them at the process’s priority; logins still work', async () => {
    const t = await startTestApp({ PASSWORD_HASH_NICE: '0', BCRYPT_ROUNDS: '4' });
    try {
      const u = await register(t);
      const l = await op(t, LoginDocument, { input: { email: u.email, password: PASSWORD } });
      expect(l.errors).toBeUndefined();
      expect(niced()).toBe(0);
    } finally {
      await t.close();
    }
  });
});
