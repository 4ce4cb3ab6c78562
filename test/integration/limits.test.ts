import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangePasswordDocument, LoginDocument, RegisterDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { codes, op, PASSWORD, uniqueEmail } from './helpers.js';

/**
 * Which limit was hit, and when to come back (issue 17, "Limits"); per-IP
 * limits count an IPv6 client by its /64 (issue 15, hole 7); changePassword
 * is limited per user and per address (issue 15, hole 1).
 *
 * The test app listens on 127.0.0.1 and trusts loopback proxies
 * (TRUST_PROXY=loopback), so X-Forwarded-For sets the client address.
 */
describe('limits: who is limited, Retry-After, IPv6 /64, changePassword', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      AUTH_RATE_LIMIT: '2',
      AUTH_RATE_LIMIT_WINDOW: '10m',
      AUTH_LOGIN_MAX_FAILURES: '2',
      AUTH_PASSWORD_CHANGE_LIMIT: '2',
      AUTH_PASSWORD_CHANGE_IP_LIMIT: '3',
    });
  });
  afterAll(() => t?.close());

  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
  async function registerFrom(ip: string) {
    const email = uniqueEmail();
    const r = await op(t, RegisterDocument, { input: { email, password: PASSWORD } }, from(ip));
    expect(r.errors).toBeUndefined();
    return { ...r.data.register, email };
  }
  const loginFrom = (ip: string, email = uniqueEmail('nobody'), password = 'wrong password') =>
    op(t, LoginDocument, { input: { email, password } }, from(ip));

  it('the per-IP limit says so: extensions.limit "ip", the message, retryAfter and the standard Retry-After header', async () => {
    const ip = '203.0.113.10';
    expect(codes(await loginFrom(ip))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await loginFrom(ip))).toEqual(['UNAUTHENTICATED']);
    const r = await loginFrom(ip);
    expect(r.code).toBe('TOO_MANY_REQUESTS');
    const e = r.errors![0];
    expect(e.extensions!.limit).toBe('ip');
    expect(e.message).toMatch(/login calls from this address/);
    // The block lasts the window (10 min): the call succeeds again when it ends.
    expect(e.extensions!.retryAfter).toBeGreaterThan(590);
    expect(e.extensions!.retryAfter).toBeLessThanOrEqual(600);
    expect(r.headers.get('retry-after')).toBe(String(e.extensions!.retryAfter));
    expect(r.headers.get('retry-after-auth')).toBeNull();
    expect([...r.headers.keys()].filter((k) => k.startsWith('x-ratelimit'))).toEqual([]);
    // Another address is not limited.
    expect(codes(await loginFrom('203.0.113.11'))).toEqual(['UNAUTHENTICATED']);
  });

  it('retryAfter is the time until the call could succeed: an address limited on a locked account waits for the lock (limit "account")', async () => {
    const ip = '203.0.113.20';
    const email = uniqueEmail('locked');
    // two wrong passwords: the address's 2 calls are spent and the account is locked (2 failures)
    expect(codes(await loginFrom(ip, email))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await loginFrom(ip, email))).toEqual(['UNAUTHENTICATED']);
    const r = await loginFrom(ip, email);
    expect(r.code).toBe('TOO_MANY_REQUESTS');
    const e = r.errors![0];
    // the address's block ends after 10 min, the account's lock after 15 (AUTH_LOGIN_FAILURE_WINDOW):
    // the call cannot succeed before the later one
    expect(e.extensions!.limit).toBe('account');
    expect(e.extensions!.retryAfter).toBeGreaterThan(600);
    expect(e.extensions!.retryAfter).toBeLessThanOrEqual(900);
    expect(e.message).toMatch(
      /failed logins for this account, and too many login calls from this address/,
    );
    expect(r.headers.get('retry-after')).toBe(String(e.extensions!.retryAfter));
    // from another address, the account's own lock answers with the same time
    const other = await loginFrom('203.0.113.21', email);
    expect(other.errors![0].extensions!.limit).toBe('account');
    expect(
      Math.abs(
        (other.errors![0].extensions!.retryAfter as number) - (e.extensions!.retryAfter as number),
      ),
    ).toBeLessThanOrEqual(2);
  });

  it('an IPv6 client is counted by its /64: other addresses of the same /64 share the limit, the next /64 does not', async () => {
    expect(codes(await loginFrom('2001:db8:aa:1::1'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await loginFrom('2001:db8:aa:1:ffff:ffff:ffff:fffe'))).toEqual([
      'UNAUTHENTICATED',
    ]);
    const third = await loginFrom('2001:db8:aa:1:1234::99');
    expect(third.code).toBe('TOO_MANY_REQUESTS');
    expect(third.errors![0].extensions!.limit).toBe('ip');
    expect(codes(await loginFrom('2001:db8:aa:2::1'))).toEqual(['UNAUTHENTICATED']);
  });

  it('an IPv4-mapped IPv6 address is the IPv4 address', async () => {
    expect(codes(await loginFrom('198.51.100.7'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await loginFrom('::ffff:198.51.100.7'))).toEqual(['UNAUTHENTICATED']);
    expect((await loginFrom('198.51.100.7')).code).toBe('TOO_MANY_REQUESTS');
  });

  it('changePassword: the third call of a user within the window is refused with limit "user", aliases counted', async () => {
    const a = await registerFrom('192.0.2.49');
    const pw = (n: number) => `${PASSWORD} ${n}`;
    const step = (alias: string, from: string, to: string) =>
      `${alias}: changePassword(input: {currentPassword: ${JSON.stringify(from)}, newPassword: ${JSON.stringify(to)}})`;
    // Three aliased calls in one request, each a valid change (P -> P2 -> P3 -> P4).
    const r = await t.gql(
      `mutation { ${step('c1', PASSWORD, pw(2))} ${step('c2', pw(2), pw(3))} ${step('c3', pw(3), pw(4))} }`,
      {},
      { token: a.accessToken, ...from('192.0.2.50') },
    );
    expect(codes(r)).toEqual(['TOO_MANY_REQUESTS']);
    expect(r.errors![0].path).toEqual(['c3']);
    expect(r.errors![0].extensions!.limit).toBe('user');
    expect(r.errors![0].message).toMatch(/changePassword calls for this account/);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    // From another address too: the limit is the user's.
    const fourth = await op(
      t,
      ChangePasswordDocument,
      { input: { currentPassword: pw(3), newPassword: pw(4) } },
      { token: a.accessToken, ...from('192.0.2.51') },
    );
    expect(fourth.errors![0].extensions!.limit).toBe('user');
    // c1 and c2 changed it; c3 and the fourth call did not.
    const login = await op(
      t,
      LoginDocument,
      { input: { email: a.email, password: pw(3) } },
      from('192.0.2.52'),
    );
    expect(login.errors).toBeUndefined();
  });

  it('changePassword: one address is limited across users (limit "ip")', async () => {
    const ip = '192.0.2.77';
    const users = [await registerFrom('192.0.2.78'), await registerFrom('192.0.2.79')];
    const change = (u: (typeof users)[number]) =>
      op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: 'not the password', newPassword: 'whatever new one' } },
        { token: u.accessToken, ...from(ip) },
      );
    expect((await change(users[0])).code).toBe('UNAUTHENTICATED');
    expect((await change(users[0])).code).toBe('UNAUTHENTICATED');
    expect((await change(users[1])).code).toBe('UNAUTHENTICATED');
    const fourth = await change(users[1]);
    expect(fourth.code).toBe('TOO_MANY_REQUESTS');
    expect(fourth.errors![0].extensions!.limit).toBe('ip');
  });
});
