import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import {
  LogoutDocument,
  MeDocument,
  RegisterDocument,
  SessionsDocument,
  UsersDocument,
} from '../generated/graphql.js';
import { startTestApp, TEST_PRIVATE_KEY, TEST_SECRET, type TestApp } from '../support/app.js';
import { op, PASSWORD, register, sessionIdOf, uniqueEmail } from './helpers.js';

const ADMIN = uniqueEmail('admin');

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** docs/api.md, Errors: a missing, malformed, expired, forged or revoked access token is UNAUTHENTICATED. */
describe('access tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAILS: ` someone@else.org, ${ADMIN.toUpperCase()} ` });
    kid = (
      (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
    ).keys[0].kid;
  });
  afterAll(() => t?.close());

  const me = (token: string) => op(t, MeDocument, {}, { token });
  let kid: string;
  /** Signs claims like the server does (ES256 with its key and kid, iss/aud 'auth-api' by default). */
  const sign = (claims: object) =>
    jwt.sign(claims, TEST_PRIVATE_KEY, { algorithm: 'ES256', keyid: kid });

  it('a document with several guarded fields checks the token and the session once; the next request checks again', async () => {
    const a = await register(t);
    const sessions = t.app.get(SessionsRepository);
    const spy = vi.spyOn(sessions, 'findUserOfLiveSession');
    try {
      const r = await t.gql(
        '{ a: me { id } b: me { id } c: me { id } d: sessions { id } }',
        {},
        { token: a.accessToken },
      );
      expect(r.errors).toBeUndefined();
      expect([r.data.a.id, r.data.b.id, r.data.c.id]).toEqual([a.user.id, a.user.id, a.user.id]);
      expect(spy).toHaveBeenCalledTimes(1);
      // The next request reads the session again: once it ended, every field is refused.
      await op(t, LogoutDocument, {}, { token: a.accessToken });
      const after = await t.gql('{ a: me { id } b: me { id } }', {}, { token: a.accessToken });
      expect(spy).toHaveBeenCalledTimes(2);
      expect(after.data).toBeNull();
      // (me is non-null: the first refusal nulls the whole answer)
      expect(after.errors!.length).toBeGreaterThanOrEqual(1);
      for (const e of after.errors!) expect(e.extensions?.reason).toBe('SESSION_ENDED');
    } finally {
      spy.mockRestore();
    }
  });

  it('a genuine token carries sub, sid, typ=access, iss, aud and exp, signed ES256 with a kid', async () => {
    const a = await register(t);
    const [header] = a.accessToken.split('.');
    const h = JSON.parse(Buffer.from(header, 'base64url').toString());
    expect(h).toMatchObject({ alg: 'ES256', kid });
    expect(kid).toMatch(/^[\w-]{43}$/);
    const c = claimsOf(a.accessToken);
    expect(c).toMatchObject({ sub: a.user.id, typ: 'access', iss: 'auth-api', aud: 'auth-api' });
    expect(c.sid).toEqual(expect.any(String));
    expect((c.exp as number) * 1000).toBe(new Date(a.accessTokenExpiresAt).getTime());
    // Our own signing, with the test secret, is accepted: the forgeries below
    // fail for their flaw, not for the way this test signs.
    expect((await me(sign(c))).errors).toBeUndefined();
  });

  it('alg "none" is UNAUTHENTICATED', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(c)}.`;
    expect((await me(none)).code).toBe('UNAUTHENTICATED');
    const noneSigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(c)}.${a.accessToken.split('.')[2]}`;
    expect((await me(noneSigned)).code).toBe('UNAUTHENTICATED');
  });

  it('HS256 (even with the server’s own JWT_ACCESS_SECRET), or another HMAC algorithm, is UNAUTHENTICATED', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    expect((await me(jwt.sign(c, TEST_SECRET, { algorithm: 'HS256', keyid: kid }))).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await me(jwt.sign(c, TEST_SECRET, { algorithm: 'HS512' }))).code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('a tampered payload (another user as sub) with the original signature is UNAUTHENTICATED', async () => {
    const a = await register(t);
    const victim = await register(t);
    const [h, , s] = a.accessToken.split('.');
    const forged = `${h}.${b64({ ...claimsOf(a.accessToken), sub: victim.user.id })}.${s}`;
    const r = await me(forged);
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(r.body)).not.toContain(victim.email);
  });

  it('an expired token (signed with the server key, exp in the past) is UNAUTHENTICATED', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    const past = Math.floor(Date.now() / 1000) - 60;
    expect((await me(sign({ ...c, iat: past - 900, exp: past }))).code).toBe('UNAUTHENTICATED');
  });

  it('wrong typ, iss or aud, or a missing claim, is UNAUTHENTICATED', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    const variants: Record<string, unknown>[] = [
      { ...c, typ: 'refresh' },
      { ...c, typ: undefined },
      { ...c, iss: 'someone-else' },
      { ...c, aud: 'another-api' },
      { ...c, sid: undefined },
      { ...c, sub: undefined },
      { ...c, sid: 'not-a-uuid' },
    ];
    for (const v of variants) {
      const r = await me(sign(JSON.parse(JSON.stringify(v))));
      expect(r.code, JSON.stringify(v)).toBe('UNAUTHENTICATED');
    }
  });

  it('a correctly signed token with a fresh exp for a logged-out session is UNAUTHENTICATED', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    await op(t, LogoutDocument, {}, { token: a.accessToken });
    // Re-signed with a fresh exp: the session, not the exp, is what ends it.
    expect((await me(sign({ ...c, exp: Math.floor(Date.now() / 1000) + 600 }))).code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('a token of a revoked session is UNAUTHENTICATED for every guarded operation', async () => {
    const a = await register(t);
    // used (and so verified, and remembered as verified) before the logout:
    // the session is checked on every call all the same
    expect((await me(a.accessToken)).errors).toBeUndefined();
    await op(t, LogoutDocument, { input: { refreshToken: a.refreshToken } });
    expect((await me(a.accessToken)).code).toBe('UNAUTHENTICATED');
    expect((await op(t, SessionsDocument, {}, { token: a.accessToken })).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await op(t, UsersDocument, {}, { token: a.accessToken })).code).toBe('UNAUTHENTICATED');
  });

  it('the Bearer scheme is required; a token in a cookie or a query does not authenticate', async () => {
    const a = await register(t);
    expect(
      (await op(t, MeDocument, {}, { headers: { authorization: `Token ${a.accessToken}` } })).code,
    ).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { headers: { authorization: a.accessToken } })).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await me(`${a.accessToken}x`)).code).toBe('UNAUTHENTICATED');
    expect(sessionIdOf(a.accessToken)).toEqual(expect.any(String));
  });

  describe('ACCESS_TOKEN_TTL', () => {
    let short: TestApp;
    beforeAll(async () => {
      // exp is in whole seconds (iat + TTL, iat rounded down): a 1 s token
      // signed at x.999 s lives 1 ms. 3 s leaves it at least 2 s to be used.
      short = await startTestApp({ ACCESS_TOKEN_TTL: '3s' });
    });
    afterAll(() => short?.close());

    it('a token past its lifetime is UNAUTHENTICATED (also one that was used, and so remembered as verified, before)', async () => {
      const a = await register(short);
      expect(new Date(a.accessTokenExpiresAt).getTime() - Date.now()).toBeLessThanOrEqual(3000);
      expect((await op(short, MeDocument, {}, { token: a.accessToken })).errors).toBeUndefined();
      // Lower bound only: waiting longer on a slow machine changes nothing.
      await new Promise((r) => setTimeout(r, 4100));
      const r = await op(short, MeDocument, {}, { token: a.accessToken });
      expect(r.code).toBe('UNAUTHENTICATED');
    });
  });
});

/** users is ADMIN only; ADMIN_EMAILS never grants ADMIN at registration (only a verified address). */
describe('roles and users', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof register>>;
  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAILS: `someone@else.org, ${ADMIN.toUpperCase()}` });
    admin = await register(t, `  ${ADMIN.toUpperCase()} `);
    // Promoted in the database: the admin's access token carries no role, the guard reads it.
    await t.db.prisma.user.update({ where: { id: admin.user.id }, data: { role: 'ADMIN' } });
    for (let i = 0; i < 4; i++) await register(t);
  });
  afterAll(() => t?.close());

  const users = (vars: { first?: number | null; after?: string | null }, token: string) =>
    op(t, UsersDocument, vars, { token });

  it('an email of ADMIN_EMAILS registers as USER: anyone can type an address', async () => {
    expect(admin.user.role).toBe('USER');
    const u = await register(t);
    expect(u.user.role).toBe('USER');
  });

  it('users as USER is FORBIDDEN, without a token UNAUTHENTICATED', async () => {
    const u = await register(t);
    const r = await users({}, u.accessToken);
    expect(r.code).toBe('FORBIDDEN');
    expect(r.data).toBeNull();
    expect((await op(t, UsersDocument, {})).code).toBe('UNAUTHENTICATED');
  });

  it('users as ADMIN pages with first/after through every user exactly once', async () => {
    const total = await t.db.prisma.user.count();
    expect(total).toBeGreaterThanOrEqual(5);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < total + 1; page++) {
      const r = await users({ first: 2, after }, admin.accessToken);
      expect(r.errors).toBeUndefined();
      const ids = r.data.users.map((x) => x.id);
      expect(ids.length).toBeLessThanOrEqual(2);
      if (ids.length === 0) break;
      seen.push(...ids);
      after = ids[ids.length - 1];
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toContain(admin.user.id);
  });

  it('users defaults to 20 and never returns password data', async () => {
    const r = await users({}, admin.accessToken);
    expect(r.data.users.length).toBe(Math.min(20, await t.db.prisma.user.count()));
    expect(JSON.stringify(r.body)).not.toMatch(/\$2[aby]\$/);
  });

  it.each([0, -1, 101, 1_000_000])('first: %i is BAD_USER_INPUT naming first', async (first) => {
    const r = await users({ first }, admin.accessToken);
    expect(r.code).toBe('BAD_USER_INPUT');
    expect((r.errors![0].extensions!.fields as { field: string }[])[0].field).toBe('first');
  });

  it('after that is not an id is BAD_USER_INPUT naming after', async () => {
    const r = await users({ after: 'nope' }, admin.accessToken);
    expect(r.code).toBe('BAD_USER_INPUT');
    expect((r.errors![0].extensions!.fields as { field: string }[])[0].field).toBe('after');
  });

  it('a non-integer first is refused before any resolver (GraphQL validation)', async () => {
    const r = await t.gql(`{ users(first: "ten") { id } }`, {}, { token: admin.accessToken });
    expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('the admin email cannot be taken again in another letter case', async () => {
    const r = await op(t, RegisterDocument, {
      input: { email: ADMIN.toLowerCase(), password: PASSWORD },
    });
    expect(r.code).toBe('CONFLICT');
  });
});
