import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangePasswordDocument,
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  RegisterDocument,
} from '../generated/graphql.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { codes, op, PASSWORD, register, uniqueEmail } from './helpers.js';

/** docs/api.md, Errors: TOO_MANY_REQUESTS, counted per resolver call (aliases count). */
describe('per-IP rate limit (AUTH_RATE_LIMIT=3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_RATE_LIMIT: '3', AUTH_RATE_LIMIT_WINDOW: '10m' });
  });
  afterAll(() => t?.close());

  it('one document with 5 aliased logins: each alias is counted, the 4th is TOO_MANY_REQUESTS', async () => {
    // Seeded straight into the database: a register would spend the register budget.
    const email = uniqueEmail('alias');
    await t.db.prisma.user.create({
      data: { email, passwordHash: await t.app.get(PasswordService).hash(PASSWORD) },
    });
    const aliases = [1, 2, 3, 4, 5]
      .map((i) => `l${i}: login(input: $i) { accessToken }`)
      .join('\n');
    const r = await t.gql(`mutation($i: LoginInput!) { ${aliases} }`, {
      i: { email, password: PASSWORD },
    });
    expect(r.status).toBe(200);
    // Mutation fields run one after another and login is non-null: the first
    // error ends the document (GraphQL execution), so l5 never runs. What a
    // client sees: l1-l3 were answered (3 sessions exist), l4 was refused.
    expect(codes(r)).toEqual(['TOO_MANY_REQUESTS']);
    expect(r.errors![0].path).toEqual(['l4']);
    expect(r.errors![0].extensions!.retryAfter).toEqual(expect.any(Number));
    expect(r.errors![0].extensions!.retryAfter as number).toBeGreaterThan(0);
    expect(await t.db.prisma.session.count({ where: { user: { email } } })).toBe(3);

    // The budget is spent: a separate request is refused as well.
    const later = await op(t, LoginDocument, { input: { email, password: PASSWORD } });
    expect(later.code).toBe('TOO_MANY_REQUESTS');
    expect(await t.db.prisma.session.count({ where: { user: { email } } })).toBe(3);
  });

  it('separate requests are counted: the 4th refreshToken within the window is refused', async () => {
    const answered: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      answered.push(
        (await op(t, RefreshTokenDocument, { input: { refreshToken: 'A'.repeat(43) } })).code,
      );
    }
    expect(answered).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
    const fourth = await op(t, RefreshTokenDocument, { input: { refreshToken: 'A'.repeat(43) } });
    expect(fourth.code).toBe('TOO_MANY_REQUESTS');
  });

  it('register is limited too, and the guarded operations are not', async () => {
    const first = await register(t);
    const rest = [];
    for (let i = 0; i < 3; i++) {
      rest.push(
        (await op(t, RegisterDocument, { input: { email: uniqueEmail(), password: PASSWORD } }))
          .code,
      );
    }
    expect(rest).toEqual([undefined, undefined, 'TOO_MANY_REQUESTS']);
    for (let i = 0; i < 5; i++) {
      expect((await op(t, MeDocument, {}, { token: first.accessToken })).errors).toBeUndefined();
    }
  });
});

/** docs/api.md, Configuration: failed logins are also limited per account. */
describe('per-account failed-login limit (AUTH_LOGIN_MAX_FAILURES=3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_LOGIN_MAX_FAILURES: '3' });
  });
  afterAll(() => t?.close());

  const loginAs = (email: string, password: string) =>
    op(t, LoginDocument, { input: { email, password } });

  it('after 3 wrong passwords even the right one is TOO_MANY_REQUESTS; other accounts are not affected', async () => {
    const a = await register(t);
    const b = await register(t);
    for (let i = 0; i < 3; i++) {
      expect((await loginAs(a.email, 'wrong password')).code).toBe('UNAUTHENTICATED');
    }
    const locked = await loginAs(a.email, PASSWORD);
    expect(locked.code).toBe('TOO_MANY_REQUESTS');
    expect(locked.errors![0].extensions!.retryAfter as number).toBeGreaterThan(0);
    // Any letter case of the email is the same account.
    expect((await loginAs(a.email.toUpperCase(), PASSWORD)).code).toBe('TOO_MANY_REQUESTS');
    expect((await loginAs(b.email, PASSWORD)).errors).toBeUndefined();
    // Existing sessions of the locked account keep working.
    expect((await op(t, MeDocument, {}, { token: a.accessToken })).errors).toBeUndefined();
  });

  it('unknown emails are limited the same way (the limit tells nothing about which exist)', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 3; i++) {
      expect((await loginAs(email, 'whatever pass')).code).toBe('UNAUTHENTICATED');
    }
    expect((await loginAs(email, 'whatever pass')).code).toBe('TOO_MANY_REQUESTS');
  });

  it('a wrong currentPassword in changePassword counts as a failed login', async () => {
    const a = await register(t);
    for (let i = 0; i < 3; i++) {
      const r = await op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: 'not it at all', newPassword: 'another passphrase' } },
        { token: a.accessToken },
      );
      expect(r.code).toBe('UNAUTHENTICATED');
    }
    expect((await loginAs(a.email, PASSWORD)).code).toBe('TOO_MANY_REQUESTS');
    // The password did not change.
    const stored = await t.db.prisma.user.findUniqueOrThrow({ where: { id: a.user.id } });
    expect(stored.updatedAt.toISOString()).toBe(a.user.updatedAt);
  });

  it('a successful login clears the failures', async () => {
    const a = await register(t);
    for (let i = 0; i < 2; i++) await loginAs(a.email, 'wrong password');
    expect((await loginAs(a.email, PASSWORD)).errors).toBeUndefined();
    for (let i = 0; i < 2; i++) await loginAs(a.email, 'wrong password');
    expect((await loginAs(a.email, PASSWORD)).errors).toBeUndefined();
  });
});
