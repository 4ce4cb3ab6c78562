import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangePasswordDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  RevokeSessionDocument,
  SessionsDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, op, PASSWORD, register, sessionIdOf } from './helpers.js';

/** docs/api.md, Semantics: sessions, logout, revokeSession, changePassword. */
describe('sessions, logout, revokeSession, changePassword', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const me = (token: string) => op(t, MeDocument, {}, { token });
  const refresh = (refreshToken: string) =>
    op(t, RefreshTokenDocument, { input: { refreshToken } });
  const sessionsOf = async (token: string) => {
    const r = await op(t, SessionsDocument, {}, { token });
    expect(r.errors).toBeUndefined();
    return r.data.sessions;
  };
  /** Every live session of a user, straight from the database. */
  const liveSessions = (userId: string) =>
    t.db.prisma.session.count({ where: { userId, revokedAt: null } });

  describe('sessions', () => {
    it('lists only live sessions; current is true for exactly the caller', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      const c = await login(t, a.email);
      await op(t, LogoutDocument, { input: { refreshToken: c.refreshToken } });
      const list = await sessionsOf(b.accessToken);
      expect(list.map((s) => s.id).sort()).toEqual(
        [sessionIdOf(a.accessToken), sessionIdOf(b.accessToken)].sort(),
      );
      expect(list.filter((s) => s.current).map((s) => s.id)).toEqual([sessionIdOf(b.accessToken)]);
      const fromA = await sessionsOf(a.accessToken);
      expect(fromA.filter((s) => s.current).map((s) => s.id)).toEqual([sessionIdOf(a.accessToken)]);
      for (const s of list) {
        expect(new Date(s.expiresAt).getTime()).toBeGreaterThan(Date.now());
        expect(s.ip).toBe('127.0.0.1');
      }
    });

    it("shows another user's sessions to nobody", async () => {
      const a = await register(t);
      const b = await register(t);
      const list = await sessionsOf(b.accessToken);
      expect(list.map((s) => s.id)).toEqual([sessionIdOf(b.accessToken)]);
      expect(list.map((s) => s.id)).not.toContain(sessionIdOf(a.accessToken));
    });

    it('records the user agent', async () => {
      const a = await register(t);
      const r = await op(
        t,
        LoginDocument,
        { input: { email: a.email, password: PASSWORD } },
        { headers: { 'user-agent': 'contract-test/1.0' } },
      );
      const list = await sessionsOf(r.data.login.accessToken);
      expect(list.find((s) => s.current)?.userAgent).toBe('contract-test/1.0');
    });

    it('is guarded', async () => {
      expect((await op(t, SessionsDocument, {})).code).toBe('UNAUTHENTICATED');
    });
  });

  describe('logout', () => {
    it('by refresh token: ends that session, its access token at once and its refresh token', async () => {
      const a = await register(t);
      const other = await login(t, a.email);
      const r = await op(t, LogoutDocument, { input: { refreshToken: a.refreshToken } });
      expect(r.errors).toBeUndefined();
      expect(r.data.logout).toBe(true);
      expect((await me(a.accessToken)).code).toBe('UNAUTHENTICATED');
      expect((await refresh(a.refreshToken!)).code).toBe('UNAUTHENTICATED');
      // The user's other session is untouched.
      expect((await me(other.accessToken)).errors).toBeUndefined();
      expect((await refresh(other.refreshToken!)).errors).toBeUndefined();
    });

    it('by Bearer token only (no input): ends the session of that access token', async () => {
      const a = await register(t);
      const other = await login(t, a.email);
      const r = await op(t, LogoutDocument, {}, { token: a.accessToken });
      expect(r.data.logout).toBe(true);
      expect((await me(a.accessToken)).code).toBe('UNAUTHENTICATED');
      expect((await refresh(a.refreshToken!)).code).toBe('UNAUTHENTICATED');
      expect((await me(other.accessToken)).errors).toBeUndefined();
    });

    it('allSessions: every session of the user ends, and no one else is touched', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      const c = await login(t, a.email);
      const stranger = await register(t);
      const r = await op(
        t,
        LogoutDocument,
        { input: { allSessions: true } },
        { token: b.accessToken },
      );
      expect(r.data.logout).toBe(true);
      for (const s of [a, b, c]) {
        expect((await me(s.accessToken)).code).toBe('UNAUTHENTICATED');
        expect((await refresh(s.refreshToken!)).code).toBe('UNAUTHENTICATED');
      }
      expect(await liveSessions(a.user.id)).toBe(0);
      expect((await me(stranger.accessToken)).errors).toBeUndefined();
    });

    it('allSessions by refresh token works too', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      const r = await op(t, LogoutDocument, {
        input: { refreshToken: a.refreshToken, allSessions: true },
      });
      expect(r.data.logout).toBe(true);
      expect((await me(b.accessToken)).code).toBe('UNAUTHENTICATED');
      expect(await liveSessions(a.user.id)).toBe(0);
    });

    it('is idempotent: no token, a garbage token, already logged out → true and nothing changes', async () => {
      const a = await register(t);
      const before = await t.db.prisma.session.count({ where: { revokedAt: null } });
      const none = await op(t, LogoutDocument, {});
      const noInput = await op(t, LogoutDocument, { input: {} });
      const garbage = await op(t, LogoutDocument, { input: { refreshToken: 'garbage' } });
      const unknown = await op(t, LogoutDocument, { input: { refreshToken: 'A'.repeat(43) } });
      const badBearer = await op(t, LogoutDocument, {}, { token: 'not.a.jwt' });
      for (const r of [none, noInput, garbage, unknown, badBearer]) {
        expect(r.errors).toBeUndefined();
        expect(r.data.logout).toBe(true);
      }
      expect(await t.db.prisma.session.count({ where: { revokedAt: null } })).toBe(before);
      expect((await me(a.accessToken)).errors).toBeUndefined();

      // Logged out, then again with the same tokens.
      await op(t, LogoutDocument, { input: { refreshToken: a.refreshToken } });
      const again = await op(
        t,
        LogoutDocument,
        { input: { refreshToken: a.refreshToken } },
        { token: a.accessToken },
      );
      expect(again.errors).toBeUndefined();
      expect(again.data.logout).toBe(true);
    });

    it('a dead session cannot end all the others (allSessions with a logged-out token)', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      await op(t, LogoutDocument, { input: { refreshToken: a.refreshToken } });
      const r = await op(t, LogoutDocument, {
        input: { refreshToken: a.refreshToken, allSessions: true },
      });
      expect(r.data.logout).toBe(true);
      expect((await me(b.accessToken)).errors).toBeUndefined();
    });
  });

  describe('revokeSession', () => {
    it('own session → true, and that session’s access and refresh tokens die', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      const r = await op(
        t,
        RevokeSessionDocument,
        { id: sessionIdOf(b.accessToken) },
        { token: a.accessToken },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.revokeSession).toBe(true);
      expect((await me(b.accessToken)).code).toBe('UNAUTHENTICATED');
      expect((await refresh(b.refreshToken!)).code).toBe('UNAUTHENTICATED');
      expect((await me(a.accessToken)).errors).toBeUndefined();
      expect((await sessionsOf(a.accessToken)).map((s) => s.id)).toEqual([
        sessionIdOf(a.accessToken),
      ]);
    });

    it('its own current session → true, and the caller is logged out', async () => {
      const a = await register(t);
      const r = await op(
        t,
        RevokeSessionDocument,
        { id: sessionIdOf(a.accessToken) },
        { token: a.accessToken },
      );
      expect(r.data.revokeSession).toBe(true);
      expect((await me(a.accessToken)).code).toBe('UNAUTHENTICATED');
    });

    it("unknown, another user's, already revoked or garbage id → false, nothing changes", async () => {
      const a = await register(t);
      const victim = await register(t);
      const gone = await login(t, a.email);
      await op(t, LogoutDocument, { input: { refreshToken: gone.refreshToken } });
      const before = await t.db.prisma.session.count({ where: { revokedAt: null } });
      for (const id of [
        '0190a0a0-0000-7000-8000-000000000000',
        sessionIdOf(victim.accessToken),
        sessionIdOf(gone.accessToken),
        'garbage',
        '',
        "' OR 1=1 --",
      ]) {
        const r = await op(t, RevokeSessionDocument, { id }, { token: a.accessToken });
        expect(r.errors, id).toBeUndefined();
        expect(r.data.revokeSession, id).toBe(false);
      }
      expect(await t.db.prisma.session.count({ where: { revokedAt: null } })).toBe(before);
      expect((await me(victim.accessToken)).errors).toBeUndefined();
      expect((await refresh(victim.refreshToken!)).errors).toBeUndefined();
    });

    it('is guarded', async () => {
      const a = await register(t);
      const r = await op(t, RevokeSessionDocument, { id: sessionIdOf(a.accessToken) });
      expect(r.code).toBe('UNAUTHENTICATED');
      expect((await me(a.accessToken)).errors).toBeUndefined();
    });
  });

  describe('changePassword', () => {
    const NEW = 'a brand new passphrase';

    it('ends every other session (access and refresh), keeps the current one; new password works, old fails', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      const c = await login(t, a.email);
      const r = await op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: PASSWORD, newPassword: NEW } },
        { token: b.accessToken },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data.changePassword).toBe(true);
      for (const s of [a, c]) {
        expect((await me(s.accessToken)).code).toBe('UNAUTHENTICATED');
        expect((await refresh(s.refreshToken!)).code).toBe('UNAUTHENTICATED');
      }
      expect((await me(b.accessToken)).errors).toBeUndefined();
      expect((await refresh(b.refreshToken!)).errors).toBeUndefined();
      const old = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
      expect(old.code).toBe('UNAUTHENTICATED');
      const fresh = await op(t, LoginDocument, { input: { email: a.email, password: NEW } });
      expect(fresh.errors).toBeUndefined();
    });

    it('a wrong current password is UNAUTHENTICATED and changes nothing', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      const r = await op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: 'not my password', newPassword: NEW } },
        { token: a.accessToken },
      );
      expect(r.code).toBe('UNAUTHENTICATED');
      expect((await me(b.accessToken)).errors).toBeUndefined();
      expect((await login(t, a.email, PASSWORD)).user.id).toBe(a.user.id);
    });

    it('a too short new password is BAD_USER_INPUT naming newPassword', async () => {
      const a = await register(t);
      const r = await op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: PASSWORD, newPassword: 'short' } },
        { token: a.accessToken },
      );
      expect(r.code).toBe('BAD_USER_INPUT');
      expect((r.errors![0].extensions!.fields as { field: string }[])[0].field).toBe('newPassword');
      expect((await login(t, a.email, PASSWORD)).user.id).toBe(a.user.id);
    });

    it('is guarded', async () => {
      const r = await op(t, ChangePasswordDocument, {
        input: { currentPassword: PASSWORD, newPassword: NEW },
      });
      expect(r.code).toBe('UNAUTHENTICATED');
    });
  });
});
