import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginDocument, RefreshTokenDocument, RegisterDocument } from '../generated/graphql.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { startTestApp, type GqlResponse, type TestApp } from '../support/app.js';
import { op, PASSWORD, register, uniqueEmail } from './helpers.js';

/** A job that holds the hashing slot until the test releases it. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, done };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 20_000 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(check()).toBe(true);
}

/**
 * Issue 16 part 3 (device cookies, OWASP): a device that logged in to an
 * account before is told from the flood. Its login is not held by the
 * account's failed-login lock, its own failures are counted per token, and
 * its password check goes ahead of strangers' in the hashing queue.
 */
describe('device tokens, token mode (AUTH_LOGIN_MAX_FAILURES=3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      AUTH_LOGIN_MAX_FAILURES: '3',
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE: '1',
      PASSWORD_HASH_MAX_WAIT: '60s',
    });
  });
  afterAll(() => t?.close());

  const login = (email: string, password: string, deviceToken?: string | null) =>
    op(t, LoginDocument, { input: { email, password, deviceToken } });
  const lockOut = async (email: string) => {
    for (let i = 0; i < 3; i++)
      expect((await login(email, 'a wrong guess')).code).toBe('UNAUTHENTICATED');
    const locked = await login(email, PASSWORD);
    expect(locked.code).toBe('TOO_MANY_REQUESTS');
    expect(locked.errors![0].extensions!.limit).toBe('account');
  };

  it('register and login hand out a device token (none on a refresh)', async () => {
    const a = await register(t);
    expect(a.deviceToken).toMatch(/^d1\.\d+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const l = await login(a.email, PASSWORD);
    expect(l.data.login.deviceToken).toMatch(/^d1\./);
    expect(l.data.login.deviceToken).not.toBe(a.deviceToken);
    const r = await op(t, RefreshTokenDocument, { input: { refreshToken: a.refreshToken } });
    expect(r.errors).toBeUndefined();
    expect(r.data.refreshToken.deviceToken).toBeNull();
    // The token does not carry the email.
    expect(l.data.login.deviceToken).not.toContain(a.email.split('@')[0]);
  });

  it('an account locked by strangers still lets its own device in; the strangers stay locked out', async () => {
    const a = await register(t);
    await lockOut(a.email);
    const mine = await login(a.email, PASSWORD, a.deviceToken);
    expect(mine.errors).toBeUndefined();
    expect(mine.data.login.user.email).toBe(a.email);
    // The owner's success did not lift the strangers' lock.
    expect((await login(a.email, PASSWORD)).code).toBe('TOO_MANY_REQUESTS');
    // With a wrong password the device gets UNAUTHENTICATED, not the lock.
    expect((await login(a.email, 'a wrong guess', a.deviceToken)).code).toBe('UNAUTHENTICATED');
  });

  it("another account's token, a tampered one and garbage count for nothing", async () => {
    const a = await register(t);
    const b = await register(t);
    await lockOut(a.email);
    const tampered = a.deviceToken!.slice(0, -2) + (a.deviceToken!.endsWith('AA') ? 'AB' : 'AA');
    const longer = a.deviceToken!.replace(/^d1\.(\d+)\./, (_m, exp) => `d1.${Number(exp) + 1}.`);
    for (const token of [b.deviceToken, tampered, longer, 'garbage', '']) {
      expect((await login(a.email, PASSWORD, token)).code).toBe('TOO_MANY_REQUESTS');
    }
  });

  it("a device's wrong passwords are counted against its token, not the account: spent, it is a stranger", async () => {
    const a = await register(t);
    for (let i = 0; i < 3; i++) {
      expect((await login(a.email, 'a wrong guess', a.deviceToken)).code).toBe('UNAUTHENTICATED');
    }
    // The account is not locked: a login without the token works.
    const fresh = await login(a.email, PASSWORD);
    expect(fresh.errors).toBeUndefined();
    // Now strangers lock the account; the spent token is no way past it.
    await lockOut(a.email);
    expect((await login(a.email, PASSWORD, a.deviceToken)).code).toBe('TOO_MANY_REQUESTS');
    // The token from the last successful login still is.
    expect((await login(a.email, PASSWORD, fresh.data.login.deviceToken)).errors).toBeUndefined();
  });

  it("a trusted device's password check has its own lane: admitted when the strangers' lane is full", async () => {
    const friend = await register(t);
    const waiter = await register(t);
    const stranger = await register(t);
    const passwords = t.app.get(PasswordService);
    const hold = gate();
    const held = passwords.queue.run('default', () => hold.done);
    const waiting = login(waiter.email, PASSWORD);
    await until(() => passwords.queue.stats().queued.default === 1);
    const refused = await login(stranger.email, PASSWORD);
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.errors![0].extensions!.limit).toBe('hashing');
    const trusted = login(friend.email, PASSWORD, friend.deviceToken);
    await until(() => passwords.queue.stats().queued.trusted === 1);
    hold.release();
    await held;
    const [w, f] = await Promise.all([waiting, trusted]);
    expect(f.errors).toBeUndefined();
    expect(w.errors).toBeUndefined();
  });
});

interface SetCookie {
  name: string;
  value: string;
  attrs: Record<string, string | true>;
}

function cookieOf(r: GqlResponse<unknown>, name: string): SetCookie | undefined {
  for (const line of r.setCookie) {
    const [pair, ...rest] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) !== name) continue;
    const attrs: Record<string, string | true> = {};
    for (const a of rest) {
      const i = a.indexOf('=');
      if (i < 0) attrs[a.toLowerCase()] = true;
      else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
    }
    return { name, value: decodeURIComponent(pair.slice(eq + 1)), attrs };
  }
  return undefined;
}

describe('device tokens, cookie mode (AUTH_REFRESH_COOKIE=true)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_REFRESH_COOKIE: 'true', AUTH_LOGIN_MAX_FAILURES: '2' });
  });
  afterAll(() => t?.close());

  it('the device token is an HttpOnly cookie on /graphql (not in the payload), and the cookie lets its device past the lock', async () => {
    const email = uniqueEmail('device-cookie');
    const r = await op(t, RegisterDocument, { input: { email, password: PASSWORD } });
    expect(r.errors).toBeUndefined();
    expect(r.data.register.deviceToken).toBeNull();
    const c = cookieOf(r, 'device_token');
    expect(c?.value).toMatch(/^d1\./);
    expect(c!.attrs.httponly).toBe(true);
    expect(c!.attrs.path).toBe('/graphql');
    expect(Number(c!.attrs['max-age'])).toBe(90 * 86_400);

    for (let i = 0; i < 2; i++) {
      expect(
        (await op(t, LoginDocument, { input: { email, password: 'a wrong guess' } })).code,
      ).toBe('UNAUTHENTICATED');
    }
    expect((await op(t, LoginDocument, { input: { email, password: PASSWORD } })).code).toBe(
      'TOO_MANY_REQUESTS',
    );
    const mine = await op(
      t,
      LoginDocument,
      { input: { email, password: PASSWORD } },
      { cookie: `device_token=${encodeURIComponent(c!.value)}` },
    );
    expect(mine.errors).toBeUndefined();
    expect(cookieOf(mine, 'device_token')?.value).toMatch(/^d1\./);
  });
});
