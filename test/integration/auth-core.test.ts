import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ChangePasswordDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  SessionsDocument,
} from '../generated/graphql.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, op, PASSWORD, register, sessionIdOf } from './helpers.js';

/** A promise and the function that settles it: a barrier a test opens when it chooses. */
function barrier(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/**
 * Holds the next bcrypt compare of `password` after it has run, until the
 * test opens the barrier: a login stopped between its password check and its
 * session, with no timing luck involved.
 */
function holdNextCheckOf(t: TestApp, password: string) {
  const service = t.app.get(PasswordService);
  const original = service.verify.bind(service);
  const checked = barrier();
  const release = barrier();
  const spy = vi.spyOn(service, 'verify').mockImplementation(async (p, hash) => {
    const ok = await original(p, hash);
    if (p === password) {
      spy.mockRestore();
      checked.open();
      await release.wait;
    }
    return ok;
  });
  return { checked: checked.wait, release: release.open };
}

const events = (t: TestApp, userId: string) =>
  t.db.prisma.securityEvent.findMany({ where: { userId }, orderBy: { id: 'asc' } });

describe('the auth core: a login does not slip past a change of credentials', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('a login whose password was checked before a changePassword opens no session', async () => {
    const a = await register(t);
    const before = await t.db.prisma.session.count({ where: { userId: a.user.id } });
    const hold = holdNextCheckOf(t, PASSWORD);
    const attacker = op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    await hold.checked; // the old password was right when it was checked...
    const changed = await op(
      t,
      ChangePasswordDocument,
      { input: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } },
      { token: a.accessToken },
    );
    expect(changed.errors).toBeUndefined();
    hold.release(); // ...but is no longer when the session would be created.
    const r = await attacker;
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(r.data).toBeNull();
    // Only the owner's session is left, and no LOGIN event was written.
    expect(await t.db.prisma.session.count({ where: { userId: a.user.id } })).toBe(before);
    expect((await events(t, a.user.id)).map((e) => e.type)).not.toContain('LOGIN');
  });

  it('a login checked before the account was disabled opens no session: FORBIDDEN', async () => {
    const a = await register(t);
    const hold = holdNextCheckOf(t, PASSWORD);
    const pending = op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    await hold.checked;
    await t.db.prisma.user.update({
      where: { id: a.user.id },
      data: { disabledAt: new Date(), credentialsVersion: { increment: 1 } },
    });
    hold.release();
    expect((await pending).code).toBe('FORBIDDEN');
  });

  it('a disabled account: FORBIDDEN after a correct password, UNAUTHENTICATED after a wrong one', async () => {
    const a = await register(t);
    await t.db.prisma.user.update({ where: { id: a.user.id }, data: { disabledAt: new Date() } });
    const right = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    expect(right.code).toBe('FORBIDDEN');
    const wrong = await op(t, LoginDocument, { input: { email: a.email, password: 'nope nope' } });
    expect(wrong.code).toBe('UNAUTHENTICATED');
    expect(wrong.errors![0].message).toBe('Invalid email or password');
  });

  it('register and login write REGISTER and LOGIN with ip, user agent, session and request id', async () => {
    const a = await register(t);
    const l = await op(
      t,
      LoginDocument,
      { input: { email: a.email, password: PASSWORD } },
      { headers: { 'user-agent': 'auth-core-test/1', 'x-request-id': 'req-login-1' } },
    );
    const rows = await events(t, a.user.id);
    expect(rows.map((e) => e.type)).toEqual(['REGISTER', 'LOGIN']);
    expect(rows[0].sessionId).toBe(sessionIdOf(a.accessToken));
    expect(rows[1]).toMatchObject({
      sessionId: sessionIdOf(l.data.login.accessToken),
      ip: '127.0.0.1',
      userAgent: 'auth-core-test/1',
      requestId: 'req-login-1',
    });
  });
});

describe('the auth core: the per-account lock is reserved before the check', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_LOGIN_MAX_FAILURES: '5', AUTH_LOGIN_FAILURE_WINDOW: '10m' });
  });
  afterAll(() => t?.close());

  it('50 concurrent wrong logins against one account get at most 5 password checks', async () => {
    const a = await register(t);
    const service = t.app.get(PasswordService);
    const verify = vi.spyOn(service, 'verify');
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        op(t, LoginDocument, { input: { email: a.email, password: 'wrong password!' } }),
      ),
    );
    verify.mockRestore();
    expect(verify.mock.calls.length).toBeLessThanOrEqual(5);
    const byCode = results.reduce<Record<string, number>>((m, r) => {
      m[r.code!] = (m[r.code!] ?? 0) + 1;
      return m;
    }, {});
    expect(byCode).toEqual({ UNAUTHENTICATED: 5, TOO_MANY_REQUESTS: 45 });
    const locked = results.find((r) => r.code === 'TOO_MANY_REQUESTS')!;
    expect(locked.errors![0].extensions).toMatchObject({ limit: 'account' });
    // Written once, when the last attempt was spent.
    const types = (await events(t, a.user.id)).map((e) => e.type);
    expect(types.filter((x) => x === 'LOGIN_FAILED')).toHaveLength(5);
    expect(types.filter((x) => x === 'LOGIN_LOCKED')).toHaveLength(1);
  });

  it("a stranger's failed logins do not stop the owner changing the password", async () => {
    const a = await register(t);
    for (let i = 0; i < 6; i++) {
      await op(t, LoginDocument, { input: { email: a.email, password: 'x'.repeat(3000) } });
    }
    const locked = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    expect(locked.code).toBe('TOO_MANY_REQUESTS');
    const changed = await op(
      t,
      ChangePasswordDocument,
      { input: { currentPassword: PASSWORD, newPassword: 'owner keeps control' } },
      { token: a.accessToken },
    );
    expect(changed.errors).toBeUndefined();
    expect(changed.data.changePassword).toBe(true);
  });

  it('wrong current passwords are limited per user, and each counts as a failed login', async () => {
    const a = await register(t);
    const change = (currentPassword: string) =>
      op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword, newPassword: 'the next passphrase' } },
        { token: a.accessToken },
      );
    for (let i = 0; i < 5; i++)
      expect((await change(`wrong guess ${i}`)).code).toBe('UNAUTHENTICATED');
    const sixth = await change(PASSWORD);
    expect(sixth.code).toBe('TOO_MANY_REQUESTS');
    expect(sixth.errors![0].extensions!.retryAfter).toEqual(expect.any(Number));
    // The five wrong ones locked the account's logins too.
    const l = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    expect(l.code).toBe('TOO_MANY_REQUESTS');
  });

  it('a new password equal to the current one is refused before any hashing', async () => {
    const a = await register(t);
    const service = t.app.get(PasswordService);
    const hash = vi.spyOn(service, 'hash');
    const verify = vi.spyOn(service, 'verify');
    const r = await op(
      t,
      ChangePasswordDocument,
      { input: { currentPassword: PASSWORD, newPassword: PASSWORD } },
      { token: a.accessToken },
    );
    expect(hash).not.toHaveBeenCalled();
    expect(verify).not.toHaveBeenCalled();
    hash.mockRestore();
    verify.mockRestore();
    expect(r.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions!.fields).toEqual([
      { field: 'newPassword', message: 'must differ from the current password' },
    ]);
  });
});

describe('the auth core: sessions and tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_MAX_SESSIONS: '3' });
  });
  afterAll(() => t?.close());

  it('a dead refresh token names no session: logout with allSessions ends nothing', async () => {
    const a = await register(t);
    const other = await login(t, a.email);
    const rotated = await op(t, RefreshTokenDocument, { input: { refreshToken: a.refreshToken } });
    expect(rotated.errors).toBeUndefined();
    // The rotated-away token, with allSessions: true and no access token.
    const r = await op(t, LogoutDocument, {
      input: { refreshToken: a.refreshToken, allSessions: true },
    });
    expect(r.data.logout).toBe(true);
    expect(await t.db.prisma.session.count({ where: { userId: a.user.id, revokedAt: null } })).toBe(
      2,
    );
    expect((await op(t, MeDocument, {}, { token: other.accessToken })).errors).toBeUndefined();
    // An expired token names nothing either.
    const third = await login(t, a.email);
    await t.db.prisma.refreshToken.updateMany({
      where: { session: { id: sessionIdOf(third.accessToken) } },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await op(t, LogoutDocument, { input: { refreshToken: third.refreshToken, allSessions: true } });
    expect(await t.db.prisma.session.count({ where: { userId: a.user.id, revokedAt: null } })).toBe(
      3,
    );
  });

  it('a live refresh token ends its session; allSessions ends them all; events are written', async () => {
    const a = await register(t);
    const b = await login(t, a.email);
    expect(
      (await op(t, LogoutDocument, { input: { refreshToken: b.refreshToken } })).data.logout,
    ).toBe(true);
    expect((await op(t, MeDocument, {}, { token: b.accessToken })).code).toBe('UNAUTHENTICATED');
    await op(t, LogoutDocument, { input: { allSessions: true } }, { token: a.accessToken });
    expect(await t.db.prisma.session.count({ where: { userId: a.user.id, revokedAt: null } })).toBe(
      0,
    );
    const types = (await events(t, a.user.id)).map((e) => e.type);
    expect(types).toEqual(['REGISTER', 'LOGIN', 'LOGOUT', 'LOGOUT_ALL']);
  });

  it('live sessions are capped: the least recently used beyond AUTH_MAX_SESSIONS is revoked', async () => {
    const a = await register(t);
    const logins = [];
    for (let i = 0; i < 4; i++) logins.push(await login(t, a.email));
    const live = await t.db.prisma.session.findMany({
      where: { userId: a.user.id, revokedAt: null },
    });
    expect(live).toHaveLength(3);
    // The registration's session and the first login's are the two oldest: gone.
    const ids = live.map((s) => s.id).sort();
    expect(ids).toEqual(
      logins
        .slice(1)
        .map((l) => sessionIdOf(l.accessToken))
        .sort(),
    );
    expect((await op(t, MeDocument, {}, { token: a.accessToken })).code).toBe('UNAUTHENTICATED');
    const listed = await op(t, SessionsDocument, {}, { token: logins[3].accessToken });
    expect(listed.data.sessions).toHaveLength(3);
  });

  it('a rotation on an expired session is refused, even with a live token', async () => {
    const a = await register(t);
    await t.db.prisma.session.update({
      where: { id: sessionIdOf(a.accessToken) },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const r = await op(t, RefreshTokenDocument, { input: { refreshToken: a.refreshToken } });
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(r.errors![0].extensions!.reason).toBe('SESSION_ENDED');
    expect(
      await t.db.prisma.refreshToken.count({ where: { sessionId: sessionIdOf(a.accessToken) } }),
    ).toBe(1);
  });

  it('inside the grace window only the same user agent gets the child again; another is reuse', async () => {
    const a = await register(t);
    const ua = (agent: string) => ({ headers: { 'user-agent': agent } });
    const input = { input: { refreshToken: a.refreshToken } };
    const first = await op(t, RefreshTokenDocument, input, ua('Browser/1'));
    const again = await op(t, RefreshTokenDocument, input, ua('Browser/1'));
    expect(again.data.refreshToken.refreshToken).toBe(first.data.refreshToken.refreshToken);
    const thief = await op(t, RefreshTokenDocument, input, ua('curl/8.0'));
    expect(thief.code).toBe('UNAUTHENTICATED');
    expect(thief.errors![0].extensions!.reason).toBe('REFRESH_TOKEN_REUSED');
    // Reuse revoked the whole session: the child and its access token are dead too.
    const child = await op(t, RefreshTokenDocument, {
      input: { refreshToken: first.data.refreshToken.refreshToken },
    });
    expect(child.code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: first.data.refreshToken.accessToken })).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await events(t, a.user.id)).map((e) => e.type)).toContain('REFRESH_TOKEN_REUSE');
  });

  it('says what is wrong with a refresh token, with one code', async () => {
    const a = await register(t);
    const reasons = async (refreshToken: string | null) => {
      const r = await op(t, RefreshTokenDocument, { input: { refreshToken } });
      expect(r.code).toBe('UNAUTHENTICATED');
      return r.errors![0].extensions!.reason;
    };
    expect(await reasons(null)).toBe('REFRESH_TOKEN_MISSING');
    expect(await reasons(a.accessToken)).toBe('ACCESS_TOKEN_GIVEN');
    expect(await reasons('not a token')).toBe('REFRESH_TOKEN_MALFORMED');
    expect(await reasons('A'.repeat(43))).toBe('REFRESH_TOKEN_UNKNOWN');
  });

  it('two refreshes in the same second never return the same access token (jti)', async () => {
    const a = await register(t);
    const b = await op(t, RefreshTokenDocument, { input: { refreshToken: a.refreshToken } });
    const c = await op(t, RefreshTokenDocument, { input: { refreshToken: a.refreshToken } });
    expect(b.data.refreshToken.refreshToken).toBe(c.data.refreshToken.refreshToken);
    expect(b.data.refreshToken.accessToken).not.toBe(c.data.refreshToken.accessToken);
  });
});
