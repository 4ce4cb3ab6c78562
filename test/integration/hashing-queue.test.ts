import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ChangePasswordDocument,
  LoginDocument,
  MeDocument,
  RegisterDocument,
} from '../generated/graphql.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { UsersRepository } from '../../src/users/users.repository.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { op, PASSWORD, register, uniqueEmail } from './helpers.js';

/** A job that holds a hashing slot until the test releases it. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, done };
}

/** Waits (a barrier, not a sleep) until the queue shows what the test needs. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 20_000 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(check()).toBe(true);
}

/**
 * Issue 15, hole 1 (bcrypt as a weapon): every password hash goes through one
 * bounded queue; past its bound a call is refused at once with
 * TOO_MANY_REQUESTS (limit "hashing", Retry-After), and nothing is written.
 */
describe('one bounded queue for all password hashing (concurrency 1, 1 waiting)', () => {
  let t: TestApp;
  let passwords: PasswordService;
  beforeAll(async () => {
    t = await startTestApp({
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE: '1',
      PASSWORD_HASH_MAX_WAIT: '60s',
    });
    passwords = t.app.get(PasswordService);
  });
  afterAll(() => t?.close());

  it('with the slot busy and one login waiting, login, register and changePassword are refused at once; the waiting login then succeeds', async () => {
    const waiter = await register(t);
    const victim = await register(t);
    const changer = await register(t);
    const newEmail = uniqueEmail('refused');

    const hold = gate();
    const held = passwords.queue.run('default', () => hold.done);
    const waiting = op(t, LoginDocument, { input: { email: waiter.email, password: PASSWORD } });
    await until(() => passwords.queue.stats().queued.default === 1);

    const refusals = [
      await op(t, LoginDocument, { input: { email: victim.email, password: PASSWORD } }),
      await op(t, LoginDocument, { input: { email: uniqueEmail('ghost'), password: PASSWORD } }),
      await op(t, RegisterDocument, { input: { email: newEmail, password: PASSWORD } }),
      await op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } },
        { token: changer.accessToken },
      ),
    ];
    for (const r of refusals) {
      expect(r.code).toBe('TOO_MANY_REQUESTS');
      expect(r.errors![0].extensions!.limit).toBe('hashing');
      expect(r.errors![0].extensions!.retryAfter as number).toBeGreaterThanOrEqual(1);
      expect(r.errors![0].message).toMatch(/busy/);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // The refused logins did not read their user: refused before the lookup.
    const lookups = vi.spyOn(t.app.get(UsersRepository), 'findByEmail');
    try {
      const r = await op(t, LoginDocument, { input: { email: victim.email, password: PASSWORD } });
      expect(r.code).toBe('TOO_MANY_REQUESTS');
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    // `me` needs no hash: answered while the queue is full.
    expect((await op(t, MeDocument, {}, { token: victim.accessToken })).errors).toBeUndefined();

    // Nothing was written by the refused calls.
    expect(await t.db.prisma.session.count({ where: { userId: victim.user.id } })).toBe(1);
    expect(await t.db.prisma.user.count({ where: { email: newEmail } })).toBe(0);
    const changerRow = await t.db.prisma.user.findUniqueOrThrow({ where: { id: changer.user.id } });
    expect(changerRow.updatedAt.toISOString()).toBe(changer.user.updatedAt);

    hold.release();
    await held;
    const w = await waiting;
    expect(w.errors).toBeUndefined();
    expect(w.data.login.user.email).toBe(waiter.email);
    // The refused ones work once the queue has room.
    expect(
      (await op(t, LoginDocument, { input: { email: victim.email, password: PASSWORD } })).errors,
    ).toBeUndefined();
  });
});

describe('a hash never waits past PASSWORD_HASH_MAX_WAIT', () => {
  let t: TestApp;
  let passwords: PasswordService;
  beforeAll(async () => {
    t = await startTestApp({
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE: '100',
      PASSWORD_HASH_MAX_WAIT: '50ms',
    });
    passwords = t.app.get(PasswordService);
  });
  afterAll(() => t?.close());

  it('a login admitted to the queue but still waiting when its bound passes is refused (and opens no session)', async () => {
    const a = await register(t);
    const hold = gate();
    const held = passwords.queue.run('default', () => hold.done);
    const r = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    expect(r.code).toBe('TOO_MANY_REQUESTS');
    expect(r.errors![0].extensions!.limit).toBe('hashing');
    expect(await t.db.prisma.session.count({ where: { userId: a.user.id } })).toBe(1);
    expect(passwords.queue.stats().queued.default).toBe(0);
    hold.release();
    await held;
  });
});
