import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangePasswordDocument,
  ConfirmTotpDocument,
  DisableTotpDocument,
  EnrollTotpDocument,
  LoginDocument,
  RefreshTokenDocument,
  RegenerateRecoveryCodesDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  SecurityEventsDocument,
  SetUserDisabledDocument,
  VerifyMfaDocument,
} from '../generated/graphql.js';
import { startTestApp, type GqlResponse, type TestApp } from '../support/app.js';
import { FAST_MAIL } from '../support/mail.js';
import { linkToken, startSmtp, type TestSmtp } from '../support/smtp.js';
import { registerAdmin } from './audit-helpers.js';
import { op, PASSWORD, register } from './helpers.js';
import {
  Authenticator,
  claimsOf,
  loginWithMfa,
  mfaToken,
  registerWithMfa,
  verifyMfa,
} from './mfa-helpers.js';

const NEW_PASSWORD = 'another long passphrase';

function fields(r: GqlResponse<unknown>): string[] {
  return ((r.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field);
}

/** docs/api.md, "Second factor": what ends an mfaToken, what keeps the factor, events, bad input. */
describe('second factor: lifecycle', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ ...FAST_MAIL, SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  const liveSessions = (userId: string) =>
    t.db.prisma.session.count({ where: { userId, revokedAt: null } });
  const challengeOf = (userId: string) =>
    t.db.prisma.mfaChallenge.findFirst({ where: { userId }, orderBy: { createdAt: 'desc' } });

  it('a password change between login and verifyMfa kills the mfaToken: the right code opens nothing', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const c = await op(
      t,
      ChangePasswordDocument,
      { input: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } },
      { token: u.accessToken },
    );
    expect(c.errors).toBeUndefined();
    const before = await liveSessions(u.userId);
    const r = await verifyMfa(t, token, await u.totp.next());
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(await liveSessions(u.userId)).toBe(before);
    // The new password leads to the second step as before.
    await verifyMfa(t, await mfaToken(t, u.email, NEW_PASSWORD), await u.totp.next()).then((x) =>
      expect(x.errors).toBeUndefined(),
    );
  });

  it('a password reset keeps the second factor: the next login still asks for a code; older mfaTokens die', async () => {
    const u = await registerWithMfa(t);
    const old = await mfaToken(t, u.email);
    await op(t, RequestPasswordResetDocument, { email: u.email });
    const mail = await smtp.waitFor(
      (m) => m.to.includes(u.email) && m.text.includes('/reset-password?token='),
    );
    const reset = await op(t, ResetPasswordDocument, {
      input: { token: linkToken(mail, 'reset-password'), newPassword: NEW_PASSWORD },
    });
    expect(reset.errors).toBeUndefined();
    expect((await verifyMfa(t, old, await u.totp.next())).code).toBe('UNAUTHENTICATED');
    const l = await op(t, LoginDocument, { input: { email: u.email, password: NEW_PASSWORD } });
    expect(l.code).toBe('MFA_REQUIRED');
    const ok = await verifyMfa(t, l.errors![0].extensions!.mfaToken as string, await u.totp.next());
    expect(ok.errors).toBeUndefined();
    expect(ok.data.verifyMfa.user.mfaEnabled).toBe(true);
  });

  it('turning the second factor on or off kills the reset links issued before (a change of what a login proves)', async () => {
    const a = await register(t);
    const resetLink = async () => {
      const isReset = (m: { text: string }) => m.text.includes('/reset-password?token=');
      const seen = smtp.to(a.email).filter(isReset).length;
      await t.db.prisma.user.update({ where: { id: a.user.id }, data: { resetMailSentAt: null } });
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const mail = await smtp.waitFor(
        (m) => isReset(m) && smtp.to(a.email).filter(isReset).indexOf(m) >= seen,
      );
      return linkToken(mail, 'reset-password');
    };
    const reset = (token: string) =>
      op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
    const beforeOn = await resetLink();
    const e = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    const totp = new Authenticator(e.data.enrollTotp.secret);
    await op(t, ConfirmTotpDocument, { code: await totp.next() }, { token: a.accessToken });
    expect(fields(await reset(beforeOn))).toEqual(['token']);
    const beforeOff = await resetLink();
    const off = await op(
      t,
      DisableTotpDocument,
      { code: await totp.next() },
      { token: a.accessToken },
    );
    expect(off.errors).toBeUndefined();
    expect(fields(await reset(beforeOff))).toEqual(['token']);
    // A link issued after works.
    expect((await reset(await resetLink())).errors).toBeUndefined();
  });

  it('a disabled account: a right code is FORBIDDEN, a wrong one UNAUTHENTICATED; enabled again, it logs in', async () => {
    const admin = await registerAdmin(t);
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const setDisabled = (disabled: boolean) =>
      op(t, SetUserDisabledDocument, { userId: u.userId, disabled }, { token: admin.accessToken });
    expect((await setDisabled(true)).errors).toBeUndefined();
    const right = await u.totp.next();
    const wrong = right === '111111' ? '222222' : '111111';
    expect((await verifyMfa(t, token, wrong)).code).toBe('UNAUTHENTICATED');
    expect((await verifyMfa(t, token, right)).code).toBe('FORBIDDEN');
    expect(await liveSessions(u.userId)).toBe(0);
    expect((await setDisabled(false)).errors).toBeUndefined();
    await loginWithMfa(t, u);
  });

  it('a factor turned off: an mfaToken issued before it opens nothing, and login no longer asks', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const off = await op(
      t,
      DisableTotpDocument,
      { code: u.recoveryCodes[0] },
      { token: u.accessToken },
    );
    expect(off.errors).toBeUndefined();
    expect((await verifyMfa(t, token, await u.totp.next())).code).toBe('UNAUTHENTICATED');
    expect((await verifyMfa(t, token, u.recoveryCodes[1])).code).toBe('UNAUTHENTICATED');
    const l = await op(t, LoginDocument, { input: { email: u.email, password: PASSWORD } });
    expect(l.errors).toBeUndefined();
    expect(claimsOf(l.data.login.accessToken).amr).toEqual(['pwd']);
    expect(await t.db.prisma.recoveryCode.count({ where: { userId: u.userId } })).toBe(0);
    expect(await t.db.prisma.totpFactor.count({ where: { userId: u.userId } })).toBe(0);
  });

  it('the code that confirmed the factor is not accepted again (its step counts)', async () => {
    const a = await register(t);
    const e = await op(t, EnrollTotpDocument, {}, { token: a.accessToken });
    const totp = new Authenticator(e.data.enrollTotp.secret);
    const code = await totp.next();
    const c = await op(t, ConfirmTotpDocument, { code }, { token: a.accessToken });
    expect(c.errors).toBeUndefined();
    expect((await verifyMfa(t, await mfaToken(t, a.email), code)).code).toBe('UNAUTHENTICATED');
  });

  it('codes and mfaTokens of the wrong shape are BAD_USER_INPUT, before any work: no try spent, no event', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const bad = [
      '12345',
      '1234567',
      '12 345',
      'abcdef',
      '',
      '１２３４５６',
      'aaaaa-bbbbb-ccccc-dddd',
      'ggggg-hhhhh-iiiii-jjjjj',
      '0'.repeat(5000),
    ];
    for (const code of bad) {
      const r = await verifyMfa(t, token, code);
      expect(fields(r)).toEqual(['code']);
    }
    for (const mfa of ['', 'short', 'x'.repeat(44), `${'a'.repeat(42)}!`, 'a'.repeat(10000)]) {
      const r = await op(t, VerifyMfaDocument, { input: { mfaToken: mfa, code: '123456' } });
      expect(fields(r)).toEqual(['mfaToken']);
    }
    const guarded = { token: u.accessToken };
    expect(fields(await op(t, DisableTotpDocument, { code: '1234' }, guarded))).toEqual(['code']);
    expect(
      fields(await op(t, RegenerateRecoveryCodesDocument, { code: 'not a code' }, guarded)),
    ).toEqual(['code']);
    // confirmTotp takes a TOTP code only.
    expect(fields(await op(t, ConfirmTotpDocument, { code: u.recoveryCodes[0] }, guarded))).toEqual(
      ['code'],
    );
    expect((await challengeOf(u.userId))!.failedAttempts).toBe(0);
    expect(
      await t.db.prisma.securityEvent.count({ where: { userId: u.userId, type: 'MFA_FAILED' } }),
    ).toBe(0);
    // The token is still alive and unspent.
    expect((await verifyMfa(t, token, await u.totp.next())).errors).toBeUndefined();
  });

  it('every change is a security event of the user: MFA_ENABLED, MFA_FAILED, RECOVERY_CODE_USED, LOGIN, RECOVERY_CODES_REGENERATED, MFA_DISABLED', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    await verifyMfa(t, token, '000000').then(() => undefined);
    const p = await verifyMfa(t, token, u.recoveryCodes[0]);
    expect(p.errors).toBeUndefined();
    const regen = await op(
      t,
      RegenerateRecoveryCodesDocument,
      { code: await u.totp.next() },
      { token: u.accessToken },
    );
    expect(regen.errors).toBeUndefined();
    const off = await op(
      t,
      DisableTotpDocument,
      { code: regen.data.regenerateRecoveryCodes[0] },
      { token: u.accessToken },
    );
    expect(off.errors).toBeUndefined();
    const list = await op(t, SecurityEventsDocument, { first: 100 }, { token: u.accessToken });
    const types = list.data.securityEvents.map((e) => e.type);
    const sid = claimsOf(p.data.verifyMfa.accessToken).sid;
    // (Events written in one transaction may share a millisecond: compared as a set of counts.)
    expect(types.sort()).toEqual(
      [
        'REGISTER',
        'MFA_ENABLED',
        // '000000' is the current code once in a million: then no MFA_FAILED and this fails loudly.
        'MFA_FAILED',
        'RECOVERY_CODE_USED', // verifyMfa with a recovery code
        'LOGIN',
        'RECOVERY_CODES_REGENERATED',
        'RECOVERY_CODE_USED', // disableTotp with a recovery code
        'MFA_DISABLED',
      ].sort(),
    );
    const login = list.data.securityEvents.find((e) => e.type === 'LOGIN')!;
    expect(login.sessionId).toBe(sid);
  });
});

/** AUTH_LOGIN_MAX_FAILURES: wrong codes count per account like failed logins. */
describe('second factor: wrong codes are counted per account', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_LOGIN_MAX_FAILURES: '3' });
  });
  afterAll(() => t?.close());

  it('3 wrong codes over 3 mfaTokens lock the account’s second step (TOO_MANY_REQUESTS, limit account), guarded operations too', async () => {
    const u = await registerWithMfa(t);
    const right = await u.totp.next();
    const wrong = right === '111111' ? '222222' : '111111';
    for (let i = 0; i < 3; i++) {
      expect((await verifyMfa(t, await mfaToken(t, u.email), wrong)).code).toBe('UNAUTHENTICATED');
    }
    const locked = await verifyMfa(t, await mfaToken(t, u.email), right);
    expect(locked.code).toBe('TOO_MANY_REQUESTS');
    expect(locked.errors?.[0]?.extensions?.limit).toBe('account');
    expect(locked.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    const off = await op(t, DisableTotpDocument, { code: right }, { token: u.accessToken });
    expect(off.code).toBe('TOO_MANY_REQUESTS');
    // Another account is not affected.
    const v = await registerWithMfa(t);
    await loginWithMfa(t, v);
  });

  it('the password step keeps the failed-login lock of any account: 3 wrong passwords lock it, the right one is then TOO_MANY_REQUESTS, not MFA_REQUIRED', async () => {
    const u = await registerWithMfa(t);
    for (let i = 0; i < 3; i++) {
      const r = await op(t, LoginDocument, {
        input: { email: u.email, password: 'not it at all' },
      });
      expect(r.code).toBe('UNAUTHENTICATED');
    }
    const r = await op(t, LoginDocument, { input: { email: u.email, password: PASSWORD } });
    expect(r.code).toBe('TOO_MANY_REQUESTS');
    expect(r.errors?.[0]?.extensions?.limit).toBe('account');
    expect(r.errors?.[0]?.extensions?.mfaToken).toBeUndefined();
  });

  it('a right code clears the count', async () => {
    const u = await registerWithMfa(t);
    const wrong = async () => {
      const r = await verifyMfa(t, await mfaToken(t, u.email), '000000');
      if (!r.errors) return; // the current code by chance
      expect(r.code).toBe('UNAUTHENTICATED');
    };
    await wrong();
    await wrong();
    await loginWithMfa(t, u);
    await wrong();
    await wrong();
    await loginWithMfa(t, u);
  });
});

/** MFA_CHALLENGE_TTL: an mfaToken lives this long. */
describe('second factor: an mfaToken expires', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MFA_CHALLENGE_TTL: '2s' });
  });
  afterAll(() => t?.close());

  it('past MFA_CHALLENGE_TTL the right code opens nothing; a new login does', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const row = await t.db.prisma.mfaChallenge.findFirst({ where: { userId: u.userId } });
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBeLessThanOrEqual(2000 + 50);
    // Wait until the database's clock is past the expiry (a barrier, not a timed assertion).
    const expired = async () =>
      (
        await t.db.prisma.$queryRaw<{ ok: boolean }[]>`
        SELECT now() > ${row!.expiresAt}::timestamptz AS ok`
      )[0].ok;
    while (!(await expired()) || Date.now() <= row!.expiresAt.getTime()) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await t.db.prisma.session.count({ where: { userId: u.userId } });
    expect((await verifyMfa(t, token, await u.totp.next())).code).toBe('UNAUTHENTICATED');
    expect(await t.db.prisma.session.count({ where: { userId: u.userId } })).toBe(before);
    // Used in time, a new mfaToken works (2 s is short on a busy machine: up to 3 tries, each
    // with a recovery code, so no time step is spent).
    for (let i = 0; ; i++) {
      const r = await verifyMfa(t, await mfaToken(t, u.email), u.recoveryCodes[i]);
      if (!r.errors) break;
      expect(i).toBeLessThan(2);
    }
  });
});

/** AUTH_RATE_LIMIT: verifyMfa counts toward the per-IP limit like login. */
describe('second factor: verifyMfa is limited per client address', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_RATE_LIMIT: '3' });
  });
  afterAll(() => t?.close());

  it('the 4th verifyMfa from one address in the window is TOO_MANY_REQUESTS (limit ip)', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    for (let i = 0; i < 3; i++) {
      expect((await verifyMfa(t, token, 'aaaaa-bbbbb-ccccc-ddddd')).code).toBe('UNAUTHENTICATED');
    }
    const r = await verifyMfa(t, token, await u.totp.next());
    expect(r.code).toBe('TOO_MANY_REQUESTS');
    expect(r.errors?.[0]?.extensions?.limit).toBe('ip');
  });
});

/** AUTH_REFRESH_COOKIE=true: verifyMfa delivers the refresh token like login does. */
describe('second factor in cookie mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_REFRESH_COOKIE: 'true' });
  });
  afterAll(() => t?.close());

  const cookie = (r: GqlResponse<unknown>, name: string) =>
    r.setCookie.find((c) => c.startsWith(`${name}=`));

  it('MFA_REQUIRED sets no cookie; verifyMfa sets the refresh and device cookies, refreshToken null; the cookie refreshes with amr kept', async () => {
    const u = await registerWithMfa(t);
    const l = await op(t, LoginDocument, { input: { email: u.email, password: PASSWORD } });
    expect(l.code).toBe('MFA_REQUIRED');
    expect(l.setCookie).toEqual([]);
    const r = await verifyMfa(t, l.errors![0].extensions!.mfaToken as string, await u.totp.next());
    expect(r.errors).toBeUndefined();
    expect(r.data.verifyMfa.refreshToken).toBeNull();
    expect(r.data.verifyMfa.deviceToken).toBeNull();
    const refresh = cookie(r, 'refresh_token');
    expect(refresh).toMatch(/HttpOnly/i);
    expect(refresh).toMatch(/Path=\/graphql/);
    expect(cookie(r, 'device_token')).toMatch(/HttpOnly/i);
    const value = refresh!.split(';')[0];
    const again = await op(t, RefreshTokenDocument, {}, { cookie: value });
    expect(again.errors).toBeUndefined();
    expect(claimsOf(again.data.refreshToken.accessToken).amr).toEqual(['pwd', 'otp']);
  });
});
