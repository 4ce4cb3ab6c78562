import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangePasswordDocument,
  LoginDocument,
  LogoutDocument,
  RefreshTokenDocument,
  RegisterDocument,
  RevokeSessionDocument,
  SecurityEventsDocument,
  SetUserDisabledDocument,
  SetUserRoleDocument,
} from '../generated/graphql.js';
import type { SecurityEventType } from '../../src/generated/prisma/enums.js';
import { startTestApp, type GqlOptions, type TestApp } from '../support/app.js';
import { op, PASSWORD, sessionIdOf, uniqueEmail } from './helpers.js';

const AGENT = 'security-log-sweep/1.0';

/**
 * docs/api.md: every security event is stored with the caller's ip,
 * user agent, request id and session (where there is one), and never holds a
 * password, token, code or secret. One flow through the API makes every event
 * the features write; then the rows themselves are read.
 *
 * The types written by features still to come (account mails, second factor)
 * are added here as they land: WRITTEN_BY_THE_FLOW must grow to the whole enum.
 */
const WRITTEN_BY_THE_FLOW: SecurityEventType[] = [
  'REGISTER',
  'LOGIN',
  'LOGIN_FAILED',
  'LOGIN_LOCKED',
  'LOGOUT',
  'LOGOUT_ALL',
  'SESSION_REVOKED',
  'REFRESH_TOKEN_REUSE',
  'PASSWORD_CHANGED',
  'ROLE_CHANGED',
  'USER_DISABLED',
  'USER_ENABLED',
];
/** Events without a session: a failed or locked login names none. */
const WITHOUT_SESSION: SecurityEventType[] = ['LOGIN_FAILED', 'LOGIN_LOCKED'];

describe('security events: what every row holds', () => {
  let t: TestApp;
  let n = 0;
  /** Every secret the flow handled: none may appear in any row. */
  const secrets = new Set<string>();
  const requestIds = new Set<string>();
  const as = (token?: string | null): GqlOptions => {
    const id = `sweep-${++n}`;
    requestIds.add(id);
    return { token, headers: { 'user-agent': AGENT, 'x-request-id': id } };
  };
  const keep = (...values: (string | null | undefined)[]) => {
    for (const v of values) {
      if (!v) continue;
      secrets.add(v);
      // What is stored of our opaque tokens, and what a careless log line would hold.
      secrets.add(createHash('sha256').update(v).digest('hex'));
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ AUTH_LOGIN_MAX_FAILURES: '3', REFRESH_REUSE_GRACE: '0' });
    const newPassword = 'a brand new passphrase';
    keep(PASSWORD, newPassword, 'wrong password 1', 'wrong password 2');

    // REGISTER, LOGIN; an admin (made in the database, as the CLI does without a server).
    const reg = async (email: string) => {
      const r = await op(t, RegisterDocument, { input: { email, password: PASSWORD } }, as());
      expect(r.errors).toBeUndefined();
      keep(r.data.register.accessToken, r.data.register.refreshToken);
      return r.data.register;
    };
    const logIn = async (email: string, password = PASSWORD) => {
      const r = await op(t, LoginDocument, { input: { email, password } }, as());
      expect(r.errors).toBeUndefined();
      keep(r.data.login.accessToken, r.data.login.refreshToken);
      return r.data.login;
    };
    const aEmail = uniqueEmail('sweep');
    const a = await reg(aEmail);
    const admin = await reg(uniqueEmail('sweep-admin'));
    await t.db.prisma.user.update({ where: { id: admin.user.id }, data: { role: 'ADMIN' } });
    const a2 = await logIn(aEmail);
    const a3 = await logIn(aEmail);

    // LOGIN_FAILED (known and unknown email), LOGIN_LOCKED (a third account, 3 failures).
    await op(t, LoginDocument, { input: { email: aEmail, password: 'wrong password 1' } }, as());
    await op(
      t,
      LoginDocument,
      { input: { email: uniqueEmail('nobody'), password: PASSWORD } },
      as(),
    );
    const cEmail = uniqueEmail('sweep-locked');
    await reg(cEmail);
    for (let i = 0; i < 3; i++)
      await op(t, LoginDocument, { input: { email: cEmail, password: 'wrong password 2' } }, as());

    // REFRESH_TOKEN_REUSE: a3's token rotated, then presented again.
    const rotated = await op(
      t,
      RefreshTokenDocument,
      { input: { refreshToken: a3.refreshToken } },
      as(),
    );
    keep(rotated.data.refreshToken.accessToken, rotated.data.refreshToken.refreshToken);
    const reuse = await op(
      t,
      RefreshTokenDocument,
      { input: { refreshToken: a3.refreshToken } },
      as(),
    );
    expect(reuse.code).toBe('UNAUTHENTICATED');

    // SESSION_REVOKED, LOGOUT, PASSWORD_CHANGED, LOGOUT_ALL.
    const a4 = await logIn(aEmail);
    const a5 = await logIn(aEmail);
    expect(
      (await op(t, RevokeSessionDocument, { id: sessionIdOf(a4.accessToken) }, as(a.accessToken)))
        .data.revokeSession,
    ).toBe(true);
    expect(
      (await op(t, LogoutDocument, { input: { refreshToken: a2.refreshToken } }, as())).errors,
    ).toBeUndefined();
    const changed = await op(
      t,
      ChangePasswordDocument,
      { input: { currentPassword: PASSWORD, newPassword } },
      as(a5.accessToken),
    );
    expect(changed.errors).toBeUndefined();
    const a6 = await logIn(aEmail, newPassword);
    expect(
      (
        await op(
          t,
          LogoutDocument,
          { input: { refreshToken: a6.refreshToken, allSessions: true } },
          as(),
        )
      ).errors,
    ).toBeUndefined();

    // ROLE_CHANGED, USER_DISABLED, USER_ENABLED.
    const b = await reg(uniqueEmail('sweep-b'));
    await op(t, SetUserRoleDocument, { userId: b.user.id, role: 'ADMIN' }, as(admin.accessToken));
    await op(
      t,
      SetUserDisabledDocument,
      { userId: b.user.id, disabled: true },
      as(admin.accessToken),
    );
    await op(
      t,
      SetUserDisabledDocument,
      { userId: b.user.id, disabled: false },
      as(admin.accessToken),
    );

    // What else is secret in the database: the password hashes.
    for (const u of await t.db.prisma.user.findMany()) keep(u.passwordHash);
  });
  afterAll(() => t?.close());

  const rows = () => t.db.prisma.securityEvent.findMany({ orderBy: { id: 'asc' } });

  it('the flow wrote every event type it exercises', async () => {
    const types = new Set((await rows()).map((r) => r.type));
    expect([...WRITTEN_BY_THE_FLOW].filter((x) => !types.has(x))).toEqual([]);
  });

  it('every row carries the ip, user agent and request id of the call that made it', async () => {
    for (const r of await rows()) {
      expect({ type: r.type, ip: r.ip, userAgent: r.userAgent }).toEqual({
        type: r.type,
        ip: '127.0.0.1',
        userAgent: AGENT,
      });
      expect(requestIds.has(r.requestId ?? ''), `${r.type} request id ${r.requestId}`).toBe(true);
    }
  });

  it('every row names its session, except a failed or locked login', async () => {
    for (const r of await rows()) {
      if (WITHOUT_SESSION.includes(r.type)) continue;
      expect(r.sessionId, `${r.type} has a session`).not.toBeNull();
      expect(await t.db.prisma.session.count({ where: { id: r.sessionId! } })).toBe(1);
    }
  });

  it('no row holds a password, a token, a token hash or a password hash', async () => {
    const all = JSON.stringify(await rows());
    expect(secrets.size).toBeGreaterThan(20);
    for (const s of secrets)
      expect(all.includes(s), `a secret (${s.slice(0, 6)}…) in a row`).toBe(false);
  });

  it('each user sees their own events through securityEvents, with the same fields', async () => {
    const a = await t.db.prisma.securityEvent.findFirstOrThrow({
      where: { type: 'PASSWORD_CHANGED' },
    });
    const login = await op(t, LoginDocument, {
      input: {
        email: (await t.db.prisma.user.findUniqueOrThrow({ where: { id: a.userId! } })).email,
        password: 'a brand new passphrase',
      },
    });
    const listed = await op(
      t,
      SecurityEventsDocument,
      { first: 100 },
      { token: login.data.login.accessToken },
    );
    const mine = listed.data.securityEvents.find((e) => e.id === a.id);
    expect(mine).toMatchObject({
      type: 'PASSWORD_CHANGED',
      userId: a.userId,
      sessionId: a.sessionId,
      ip: '127.0.0.1',
      userAgent: AGENT,
      requestId: a.requestId,
    });
  });
});
