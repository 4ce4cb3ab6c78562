import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfirmTotpDocument,
  DisableTotpDocument,
  EnrollTotpDocument,
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  RegenerateRecoveryCodesDocument,
  SessionsDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, op, PASSWORD, register, uniqueEmail } from './helpers.js';
import {
  Authenticator,
  claimsOf,
  loginWithMfa,
  mfaToken,
  registerWithMfa,
  verifyMfa,
} from './mfa-helpers.js';

/** docs/api.md, "Second factor": enrolment, the two-step login, recovery codes, turning it off. */
describe('second factor: enrolment and the two-step login', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const sessionRows = (userId: string) =>
    t.db.prisma.session.count({ where: { userId, revokedAt: null } });

  it('enrollTotp gives a base32 secret and its otpauth URI; nothing changes for login until confirmTotp', async () => {
    const a = await register(t);
    const r = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    expect(r.errors).toBeUndefined();
    const { secret, otpauthUri } = r.data.enrollTotp;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/auth-api:${a.email}`);
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('auth-api');
    // Pending: login still opens a session at once, and the flag is off.
    const l = await login(t, a.email);
    expect(l.user.mfaEnabled).toBe(false);
    const me = await op(t, MeDocument, {}, { token: a.accessToken });
    expect(me.data.me.mfaEnabled).toBe(false);
  });

  it('a new enrollTotp replaces a pending one: the first secret no longer confirms', async () => {
    const a = await register(t);
    const first = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    const second = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    expect(second.data.enrollTotp.secret).not.toBe(first.data.enrollTotp.secret);
    const old = new Authenticator(first.data.enrollTotp.secret);
    const r = await op(
      t,
      ConfirmTotpDocument,
      { code: await old.next() },
      { token: a.accessToken },
    );
    expect(r.code).toBe('BAD_USER_INPUT');
    const cur = new Authenticator(second.data.enrollTotp.secret);
    const ok = await op(
      t,
      ConfirmTotpDocument,
      { code: await cur.next() },
      { token: a.accessToken },
    );
    expect(ok.errors).toBeUndefined();
  });

  it('confirmTotp with a wrong code is BAD_USER_INPUT naming code, and turns nothing on', async () => {
    const a = await register(t);
    const e = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    const totp = new Authenticator(e.data.enrollTotp.secret);
    const good = await totp.next();
    const wrong = good === '000000' ? '111111' : '000000';
    const r = await op(t, ConfirmTotpDocument, { code: wrong }, { token: a.accessToken });
    expect(r.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.fields).toEqual([
      { field: 'code', message: expect.any(String) },
    ]);
    const me = await op(t, MeDocument, {}, { token: a.accessToken });
    expect(me.data.me.mfaEnabled).toBe(false);
    expect((await login(t, a.email)).accessToken).toBeTruthy();
  });

  it('confirmTotp turns it on, returns 10 distinct recovery codes and ends every other session', async () => {
    const a = await register(t);
    const other = await login(t, a.email);
    const e = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    const totp = new Authenticator(e.data.enrollTotp.secret);
    const r = await op(
      t,
      ConfirmTotpDocument,
      { code: await totp.next() },
      { token: a.accessToken },
    );
    expect(r.errors).toBeUndefined();
    const codes = r.data.confirmTotp;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9a-f]{5}-[0-9a-f]{5}-[0-9a-f]{5}-[0-9a-f]{5}$/);
    // The confirming session lives on; the other one is over (its refresh and access tokens).
    const me = await op(t, MeDocument, {}, { token: a.accessToken });
    expect(me.data.me.mfaEnabled).toBe(true);
    expect((await op(t, MeDocument, {}, { token: other.accessToken })).code).toBe(
      'UNAUTHENTICATED',
    );
    const refresh = await op(t, RefreshTokenDocument, {
      input: { refreshToken: other.refreshToken },
    });
    expect(refresh.code).toBe('UNAUTHENTICATED');
    const sessions = await op(t, SessionsDocument, {}, { token: a.accessToken });
    expect(sessions.data.sessions).toHaveLength(1);
    expect(sessions.data.sessions[0].current).toBe(true);
  });

  it('enrollTotp and confirmTotp when the second factor is on: CONFLICT, the factor unchanged', async () => {
    const u = await registerWithMfa(t);
    expect((await op(t, EnrollTotpDocument, {}, { token: u.accessToken })).code).toBe('CONFLICT');
    const c = await op(
      t,
      ConfirmTotpDocument,
      { code: await u.totp.next() },
      { token: u.accessToken },
    );
    expect(c.code).toBe('CONFLICT');
    // The old secret still works.
    await loginWithMfa(t, u);
  });

  it('login with the right password opens no session: MFA_REQUIRED with extensions.mfaToken, no tokens, no cookie', async () => {
    const u = await registerWithMfa(t);
    const before = await sessionRows(u.userId);
    const r = await op(t, LoginDocument, { input: { email: u.email, password: PASSWORD } });
    expect(r.data).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.code).toBe('MFA_REQUIRED');
    expect(r.errors?.[0]?.extensions?.mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // It lives 5 minutes (MFA_CHALLENGE_TTL's default).
    const c = await t.db.prisma.mfaChallenge.findFirst({
      where: { userId: u.userId },
      orderBy: { createdAt: 'desc' },
    });
    expect(c!.expiresAt.getTime() - c!.createdAt.getTime()).toBeGreaterThanOrEqual(299_000);
    expect(c!.expiresAt.getTime() - c!.createdAt.getTime()).toBeLessThanOrEqual(301_000);
    expect(r.setCookie).toEqual([]);
    expect(JSON.stringify(r.body)).not.toMatch(/accessToken|refreshToken|deviceToken/);
    expect(await sessionRows(u.userId)).toBe(before);
  });

  it('a wrong password is UNAUTHENTICATED with the same answer as for an account without a second factor', async () => {
    const u = await registerWithMfa(t);
    const plain = await register(t);
    const a = await op(t, LoginDocument, {
      input: { email: u.email, password: 'wrong password!' },
    });
    const b = await op(t, LoginDocument, {
      input: { email: plain.email, password: 'wrong password!' },
    });
    const c = await op(t, LoginDocument, {
      input: { email: uniqueEmail('nobody'), password: 'wrong password!' },
    });
    expect(a.code).toBe('UNAUTHENTICATED');
    expect(a.body).toEqual(b.body);
    expect(a.body).toEqual(c.body);
    expect(a.errors?.[0]?.extensions?.mfaToken).toBeUndefined();
  });

  it('verifyMfa with a current code opens the session like login: tokens, amr ["pwd","otp"]; a refresh keeps the amr', async () => {
    const u = await registerWithMfa(t);
    const before = await sessionRows(u.userId);
    const p = await loginWithMfa(t, u);
    expect(p.user.email).toBe(u.email);
    expect(p.user.mfaEnabled).toBe(true);
    expect(p.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.deviceToken).toBeTruthy();
    expect(claimsOf(p.accessToken).amr).toEqual(['pwd', 'otp']);
    expect(await sessionRows(u.userId)).toBe(before + 1);
    const me = await op(t, MeDocument, {}, { token: p.accessToken });
    expect(me.data.me.id).toBe(u.userId);
    const r = await op(t, RefreshTokenDocument, { input: { refreshToken: p.refreshToken } });
    expect(r.errors).toBeUndefined();
    expect(claimsOf(r.data.refreshToken.accessToken).amr).toEqual(['pwd', 'otp']);
    // A session opened by password only says so, before and after a refresh.
    const plain = await register(t);
    expect(claimsOf(plain.accessToken).amr).toEqual(['pwd']);
    const r2 = await op(t, RefreshTokenDocument, { input: { refreshToken: plain.refreshToken } });
    expect(claimsOf(r2.data.refreshToken.accessToken).amr).toEqual(['pwd']);
  });

  it('an mfaToken is single use', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    expect((await verifyMfa(t, token, await u.totp.next())).errors).toBeUndefined();
    const again = await verifyMfa(t, token, await u.totp.next());
    expect(again.code).toBe('UNAUTHENTICATED');
  });

  it('a wrong code is UNAUTHENTICATED; a recovery code opens a session once, then is UNAUTHENTICATED', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const good = await u.totp.next();
    const wrong = good === '123456' ? '654321' : '123456';
    expect((await verifyMfa(t, token, wrong)).code).toBe('UNAUTHENTICATED');
    const [code] = u.recoveryCodes;
    // Typed in capitals and without dashes: the same code.
    const typed = code.replace(/-/g, '').toUpperCase();
    const ok = await verifyMfa(t, token, typed);
    expect(ok.errors).toBeUndefined();
    expect(claimsOf(ok.data.verifyMfa.accessToken).amr).toEqual(['pwd', 'otp']);
    const used = await verifyMfa(t, await mfaToken(t, u.email), code);
    expect(used.code).toBe('UNAUTHENTICATED');
    // The others still work.
    const second = await verifyMfa(t, await mfaToken(t, u.email), u.recoveryCodes[1]);
    expect(second.errors).toBeUndefined();
  });

  it('disableTotp needs a right code (else UNAUTHENTICATED); then login no longer asks for one', async () => {
    const u = await registerWithMfa(t);
    const wrong = await op(t, DisableTotpDocument, { code: '000000' }, { token: u.accessToken });
    // (000000 could be the current code once in a million runs: then it is a success.)
    if (wrong.errors) expect(wrong.code).toBe('UNAUTHENTICATED');
    else return;
    const off = await op(
      t,
      DisableTotpDocument,
      { code: await u.totp.next() },
      { token: u.accessToken },
    );
    expect(off.errors).toBeUndefined();
    expect(off.data.disableTotp).toBe(true);
    const p = await login(t, u.email);
    expect(p.user.mfaEnabled).toBe(false);
    expect(claimsOf(p.accessToken).amr).toEqual(['pwd']);
    // Off: the guarded operations that need a factor say so.
    const again = await op(
      t,
      DisableTotpDocument,
      { code: await u.totp.next() },
      { token: u.accessToken },
    );
    expect(again.code).toBe('CONFLICT');
    // And it can be turned on again, with a new secret.
    const e = await op(t, EnrollTotpDocument, {}, { token: u.accessToken });
    expect(e.data.enrollTotp.secret).not.toBe(u.totp.secret);
  });

  it('disableTotp with an unused recovery code works too', async () => {
    const u = await registerWithMfa(t);
    const off = await op(
      t,
      DisableTotpDocument,
      { code: u.recoveryCodes[3] },
      { token: u.accessToken },
    );
    expect(off.errors).toBeUndefined();
    expect((await login(t, u.email)).user.mfaEnabled).toBe(false);
  });

  it('regenerateRecoveryCodes returns 10 new codes; the old ones die; it needs a right code', async () => {
    const u = await registerWithMfa(t);
    const bad = await op(
      t,
      RegenerateRecoveryCodesDocument,
      { code: 'aaaaa-bbbbb-ccccc-ddddd' },
      { token: u.accessToken },
    );
    expect(bad.code).toBe('UNAUTHENTICATED');
    const r = await op(
      t,
      RegenerateRecoveryCodesDocument,
      { code: u.recoveryCodes[0] },
      { token: u.accessToken },
    );
    expect(r.errors).toBeUndefined();
    const fresh = r.data.regenerateRecoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => u.recoveryCodes.includes(c))).toBe(false);
    const old = await verifyMfa(t, await mfaToken(t, u.email), u.recoveryCodes[1]);
    expect(old.code).toBe('UNAUTHENTICATED');
    const ok = await verifyMfa(t, await mfaToken(t, u.email), fresh[0]);
    expect(ok.errors).toBeUndefined();
    // With a TOTP code too.
    const r2 = await op(
      t,
      RegenerateRecoveryCodesDocument,
      { code: await u.totp.next() },
      { token: u.accessToken },
    );
    expect(r2.data.regenerateRecoveryCodes).toHaveLength(10);
    expect((await verifyMfa(t, await mfaToken(t, u.email), fresh[1])).code).toBe('UNAUTHENTICATED');
  });
});
