import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoginDocument, MeDocument, RegisterDocument } from '../generated/graphql.js';
import { EMAIL_MAX } from '../../src/common/rules.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { UsersRepository } from '../../src/users/users.repository.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { codes, op, PASSWORD, register, uniqueEmail } from './helpers.js';

/** docs/api.md: register, login, me; email normalisation; BAD_USER_INPUT, CONFLICT, UNAUTHENTICATED. */
describe('register, login, me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('register answers an AuthPayload whose access token works for me', async () => {
    const email = uniqueEmail();
    const r = await op(t, RegisterDocument, { input: { email, password: PASSWORD, name: 'Ada' } });
    expect(r.errors).toBeUndefined();
    const p = r.data.register;
    expect(p.user).toMatchObject({ email, name: 'Ada', role: 'USER' });
    expect(p.accessToken.split('.')).toHaveLength(3);
    expect(p.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(p.accessTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(p.refreshTokenExpiresAt).getTime()).toBeGreaterThan(
      new Date(p.accessTokenExpiresAt).getTime(),
    );
    const me = await op(t, MeDocument, {}, { token: p.accessToken });
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toEqual(p.user);
  });

  it('normalises the email (trim, lower case) on register and login', async () => {
    const local = uniqueEmail('MiXeD').toUpperCase();
    const r = await register(t, `  ${local}  `);
    expect(r.user.email).toBe(local.toLowerCase());
    const l = await op(t, LoginDocument, {
      input: { email: `\t${local.toLowerCase()} `, password: PASSWORD },
    });
    expect(l.errors).toBeUndefined();
    expect(l.data.login.user.id).toBe(r.user.id);
  });

  it('login opens a new session for the same user', async () => {
    const r = await register(t);
    const l = await op(t, LoginDocument, { input: { email: r.email, password: PASSWORD } });
    expect(l.errors).toBeUndefined();
    expect(l.data.login.user.id).toBe(r.user.id);
    expect(l.data.login.refreshToken).not.toBe(r.refreshToken);
    const me = await op(t, MeDocument, {}, { token: l.data.login.accessToken });
    expect(me.data.me.email).toBe(r.email);
  });

  it('register with a taken email, in any letter case, is CONFLICT', async () => {
    const email = uniqueEmail();
    await register(t, email);
    for (const again of [email, email.toUpperCase(), ` ${email.replace(/^u/, 'U')} `]) {
      const r = await op(t, RegisterDocument, { input: { email: again, password: PASSWORD } });
      expect(r.code).toBe('CONFLICT');
      expect(r.data).toBeNull();
    }
    expect(await t.db.prisma.user.count({ where: { email } })).toBe(1);
  });

  it.each([
    ['not-an-email', 'email'],
    ['', 'email'],
    ['a b@example.com', 'email'],
    [`${'x'.repeat(250)}@example.com`, 'email'],
  ])('a malformed email %j is BAD_USER_INPUT naming the field', async (email, field) => {
    const r = await op(t, RegisterDocument, { input: { email, password: PASSWORD } });
    expect(r.code).toBe('BAD_USER_INPUT');
    const fields = r.errors![0].extensions!.fields as { field: string }[];
    expect(fields.map((f) => f.field)).toContain(field);
  });

  it('a too short password and a too long name are BAD_USER_INPUT naming each field', async () => {
    const r = await op(t, RegisterDocument, {
      input: { email: uniqueEmail(), password: 'short', name: 'n'.repeat(101) },
    });
    expect(r.code).toBe('BAD_USER_INPUT');
    const fields = (r.errors![0].extensions!.fields as { field: string }[]).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['password', 'name']));
  });

  it('nothing is created when register is refused', async () => {
    const email = uniqueEmail();
    const r = await op(t, RegisterDocument, { input: { email, password: 'short' } });
    expect(r.code).toBe('BAD_USER_INPUT');
    expect(await t.db.prisma.user.count({ where: { email } })).toBe(0);
  });

  it('unknown email and wrong password are both UNAUTHENTICATED with the same message', async () => {
    const r = await register(t);
    const wrong = await op(t, LoginDocument, {
      input: { email: r.email, password: 'wrong password!' },
    });
    const unknown = await op(t, LoginDocument, {
      input: { email: uniqueEmail('nobody'), password: PASSWORD },
    });
    expect(wrong.code).toBe('UNAUTHENTICATED');
    expect(unknown.code).toBe('UNAUTHENTICATED');
    expect(wrong.errors![0].message).toBe(unknown.errors![0].message);
    expect(wrong.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(unknown.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('a login email over 254 bytes but under 254 characters (multi-byte) is UNAUTHENTICATED before any lookup or hashing', async () => {
    const users = t.app.get(UsersRepository);
    const passwords = t.app.get(PasswordService);
    const lookup = vi.spyOn(users, 'findByEmail');
    const verify = vi.spyOn(passwords, 'verify');
    const dummy = vi.spyOn(passwords, 'verifyDummy');
    try {
      // 2-byte letters: 193 characters, 376 bytes. RFC 5321 limits are octets.
      const wide = `${'é'.repeat(60)}@${'ü'.repeat(60)}.${'ö'.repeat(60)}.example.com`;
      expect([...wide].length).toBeLessThanOrEqual(EMAIL_MAX);
      expect(Buffer.byteLength(wide)).toBeGreaterThan(EMAIL_MAX);
      const r = await op(t, LoginDocument, { input: { email: wide, password: PASSWORD } });
      expect(r.code).toBe('UNAUTHENTICATED');
      expect(r.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(lookup).not.toHaveBeenCalled();
      expect(verify).not.toHaveBeenCalled();
      expect(dummy).not.toHaveBeenCalled();
      // Control: an address within the limit is looked up and costs a hash (the spies see it).
      const known = await op(t, LoginDocument, {
        input: { email: uniqueEmail('nobody'), password: PASSWORD },
      });
      expect(known.code).toBe('UNAUTHENTICATED');
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(dummy).toHaveBeenCalledTimes(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('me without a token, or with a malformed one, is UNAUTHENTICATED', async () => {
    expect((await op(t, MeDocument, {})).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: 'garbage' })).code).toBe('UNAUTHENTICATED');
    expect(
      (await op(t, MeDocument, {}, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).code,
    ).toBe('UNAUTHENTICATED');
  });

  it('User exposes no password, hash or anything derived from it (introspection)', async () => {
    const r = await t.gql<{ __type: { fields: { name: string }[] } }>(
      `{ __type(name: "User") { fields { name } } }`,
    );
    const names = r.data.__type.fields.map((f) => f.name).sort();
    expect(names).toEqual([
      'createdAt',
      'disabled',
      'email',
      'emailVerified',
      'id',
      'mfaEnabled',
      'name',
      'role',
      'updatedAt',
    ]);
    expect(names.some((n) => /pass|hash|secret|salt/i.test(n))).toBe(false);
    // And asking for one is a validation error, not data.
    const ask = await t.gql(`{ me { passwordHash } }`);
    expect(ask.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(ask.body)).not.toMatch(/\$2[aby]\$/);
  });

  it('no response carries a bcrypt hash', async () => {
    const r = await op(t, RegisterDocument, {
      input: { email: uniqueEmail(), password: PASSWORD },
    });
    expect(JSON.stringify(r.body)).not.toMatch(/\$2[aby]\$/);
  });

  it('20 concurrent registrations of one email: exactly one user, 19 CONFLICT, no 500', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        op(t, RegisterDocument, {
          input: { email: i % 2 ? email : email.toUpperCase(), password: PASSWORD },
        }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const ok = results.filter((r) => !r.errors);
    const all = results.flatMap((r) => codes(r));
    expect(ok).toHaveLength(1);
    expect(all.filter((c) => c === 'CONFLICT')).toHaveLength(19);
    expect(all).not.toContain('INTERNAL_SERVER_ERROR');
    expect(await t.db.prisma.user.count({ where: { email } })).toBe(1);
    expect(await t.db.prisma.session.count({ where: { user: { email } } })).toBe(1);
  });
});
