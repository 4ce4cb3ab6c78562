import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangePasswordDocument,
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  SecurityEventsDocument,
  SendVerificationEmailDocument,
  SetUserDisabledDocument,
  UsersDocument,
  VerifyEmailDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { dumpDatabase, FAST_MAIL, until } from '../support/mail.js';
import { linkToken, startSmtp, type ReceivedMail, type TestSmtp } from '../support/smtp.js';
import { codes, login, op, PASSWORD, register, uniqueEmail } from './helpers.js';

/**
 * docs/api.md, "Email: verification and password reset", through the
 * API, with a real SMTP server (smtp-server) receiving the mails: each
 * sentence of that section has a test here (the mail outbox's own behaviour,
 * restarts and several instances included, is in mail-outbox.test.ts).
 */

const APP_URL = 'https://app.example.com';
const NEW_PASSWORD = 'a brand new passphrase';

/** Every log line of every app of this file, and every token mailed by it. */
const lines: string[] = [];
const tokens: string[] = [];

function fieldsOf(r: { errors?: { extensions?: Record<string, unknown> }[] }): string[] {
  return ((r.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field);
}

/** The token of the next mail to `to` with a link to `page` (none seen before for it). */
async function mailedToken(
  smtp: TestSmtp,
  to: string,
  page: 'verify-email' | 'reset-password',
  skip = 0,
): Promise<{ token: string; mail: ReceivedMail }> {
  const isIt = (m: ReceivedMail) => m.to.includes(to) && m.text.includes(`/${page}?token=`);
  await until(`mail #${skip + 1} to ${to}`, async () => smtp.mails.filter(isIt).length > skip);
  const mail = smtp.mails.filter(isIt)[skip];
  const token = linkToken(mail, page);
  tokens.push(token);
  return { token, mail };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('verification and reset mails (SMTP)', () => {
  let smtp: TestSmtp;
  let t: TestApp;
  const ADMIN = uniqueEmail('ops');

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(
      {
        ...FAST_MAIL,
        SMTP_URL: smtp.url,
        APP_URL,
        ADMIN_EMAILS: `someone@example.org, ${ADMIN.toUpperCase()}`,
        AUTH_LOGIN_MAX_FAILURES: '3',
      },
      { logLines: lines },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  /** As if the per-address cooldown had passed (ACCOUNT_MAIL_COOLDOWN, 60 s here). */
  async function cooldownPassed(email: string) {
    await t.db.prisma.user.update({
      where: { email },
      data: { verifyMailSentAt: null, resetMailSentAt: null },
    });
  }

  describe('verification', () => {
    it('register sends a verification mail over SMTP; its plain-text part holds {APP_URL}/verify-email?token=<token>', async () => {
      const a = await register(t);
      const { token, mail } = await mailedToken(smtp, a.email, 'verify-email');
      expect(mail.subject).toBe('Confirm your email address');
      expect(mail.text).toContain(`${APP_URL}/verify-email?token=${token}`);
      expect(a.user.emailVerified).toBe(false);
    });

    it('verifyEmail marks the address verified and answers true', async () => {
      const a = await register(t);
      const { token } = await mailedToken(smtp, a.email, 'verify-email');
      const r = await op(t, VerifyEmailDocument, { token });
      expect(r.errors).toBeUndefined();
      expect(r.data.verifyEmail).toBe(true);
      const me = await op(t, MeDocument, undefined, { token: a.accessToken });
      expect(me.data.me.emailVerified).toBe(true);
      const events = await op(t, SecurityEventsDocument, {}, { token: a.accessToken });
      expect(events.data.securityEvents.map((e) => e.type)).toContain('EMAIL_VERIFIED');
    });

    it('a used token is BAD_USER_INPUT naming token (single use)', async () => {
      const a = await register(t);
      const { token } = await mailedToken(smtp, a.email, 'verify-email');
      expect((await op(t, VerifyEmailDocument, { token })).data.verifyEmail).toBe(true);
      const again = await op(t, VerifyEmailDocument, { token });
      expect(again.code).toBe('BAD_USER_INPUT');
      expect(fieldsOf(again)).toEqual(['token']);
    });

    it('an unknown token, or one of the wrong shape, is BAD_USER_INPUT naming token', async () => {
      for (const token of ['A'.repeat(43), 'short', 'x'.repeat(5000), `${'A'.repeat(42)}\u0000`]) {
        const r = await op(t, VerifyEmailDocument, { token });
        expect(r.code, token.slice(0, 10)).toBe('BAD_USER_INPUT');
        expect(fieldsOf(r)).toEqual(['token']);
      }
      // A reset token is not a verification token.
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      const r = await op(t, VerifyEmailDocument, { token });
      expect(fieldsOf(r)).toEqual(['token']);
    });

    it('tokens: 256 random bits (43 base64url characters), only their SHA-256 stored, valid EMAIL_VERIFICATION_TTL (24h by default)', async () => {
      const a = await register(t);
      const { token } = await mailedToken(smtp, a.email, 'verify-email');
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      const row = await t.db.prisma.accountToken.findFirstOrThrow({ where: { userId: a.user.id } });
      expect(row.tokenHash).toBe(sha256(token));
      expect(row.purpose).toBe('VERIFY_EMAIL');
      const ttl = row.expiresAt.getTime() - row.createdAt.getTime();
      expect(Math.abs(ttl - 24 * 3_600_000)).toBeLessThan(60_000);
    });

    it('sendVerificationEmail sends a new link to the caller and answers true; both links work until used', async () => {
      const a = await register(t);
      const first = await mailedToken(smtp, a.email, 'verify-email');
      await cooldownPassed(a.email);
      const r = await op(t, SendVerificationEmailDocument, undefined, { token: a.accessToken });
      expect(r.errors).toBeUndefined();
      expect(r.data.sendVerificationEmail).toBe(true);
      const second = await mailedToken(smtp, a.email, 'verify-email', 1);
      expect(second.token).not.toBe(first.token);
      expect((await op(t, VerifyEmailDocument, { token: second.token })).data.verifyEmail).toBe(
        true,
      );
    });

    it('sendVerificationEmail: an already verified address gets no mail (still true)', async () => {
      const a = await register(t);
      const { token } = await mailedToken(smtp, a.email, 'verify-email');
      await op(t, VerifyEmailDocument, { token });
      await cooldownPassed(a.email);
      const before = smtp.to(a.email).length;
      // A fresh login: its user is verified.
      const s = await login(t, a.email);
      const r = await op(t, SendVerificationEmailDocument, undefined, { token: s.accessToken });
      expect(r.data.sendVerificationEmail).toBe(true);
      // The token issued before the verification says emailVerified false: still no mail.
      const r2 = await op(t, SendVerificationEmailDocument, undefined, { token: a.accessToken });
      expect(r2.data.sendVerificationEmail).toBe(true);
      expect(await t.db.prisma.accountToken.count({ where: { userId: a.user.id } })).toBe(1);
      await flushMail(t, smtp);
      expect(smtp.to(a.email)).toHaveLength(before);
    });

    it('sendVerificationEmail is guarded: UNAUTHENTICATED without a valid access token', async () => {
      const r = await op(t, SendVerificationEmailDocument, undefined, { token: 'not.a.jwt' });
      expect(r.code).toBe('UNAUTHENTICATED');
      expect((await op(t, SendVerificationEmailDocument)).code).toBe('UNAUTHENTICATED');
    });

    it('resend cooldown: at most one verification mail per ACCOUNT_MAIL_COOLDOWN, silently (true)', async () => {
      const a = await register(t);
      await mailedToken(smtp, a.email, 'verify-email');
      const answers = await Promise.all(
        [1, 2, 3].map(() =>
          op(t, SendVerificationEmailDocument, undefined, { token: a.accessToken }),
        ),
      );
      expect(answers.map((r) => r.data.sendVerificationEmail)).toEqual([true, true, true]);
      // register queued one a moment ago: none of the three is within the cooldown.
      expect(await t.db.prisma.accountToken.count({ where: { userId: a.user.id } })).toBe(1);
      await cooldownPassed(a.email);
      const concurrent = await Promise.all(
        [1, 2, 3, 4].map(() =>
          op(t, SendVerificationEmailDocument, undefined, { token: a.accessToken }),
        ),
      );
      expect(concurrent.every((r) => r.data.sendVerificationEmail === true)).toBe(true);
      // Four at once after the cooldown: exactly one more mail.
      expect(await t.db.prisma.accountToken.count({ where: { userId: a.user.id } })).toBe(2);
      await mailedToken(smtp, a.email, 'verify-email', 1);
      await flushMail(t, smtp);
      expect(smtp.to(a.email)).toHaveLength(2);
    });

    it('verifyEmail is consumed only by the mutation: a GET (a mail scanner prefetching the link) cannot', async () => {
      const a = await register(t);
      const { token } = await mailedToken(smtp, a.email, 'verify-email');
      const q = encodeURIComponent(`mutation { verifyEmail(token: "${token}") }`);
      const res = await fetch(`${t.url}/graphql?query=${q}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(405);
      expect(
        (await op(t, MeDocument, undefined, { token: a.accessToken })).data.me.emailVerified,
      ).toBe(false);
      expect((await op(t, VerifyEmailDocument, { token })).data.verifyEmail).toBe(true);
    });
  });

  describe('ADMIN_EMAILS', () => {
    it('grants ADMIN when a listed address is verified, never to an unverified registration', async () => {
      const a = await register(t, ADMIN);
      expect(a.user.role).toBe('USER');
      expect((await op(t, UsersDocument, {}, { token: a.accessToken })).code).toBe('FORBIDDEN');
      const { token } = await mailedToken(smtp, ADMIN, 'verify-email');
      await op(t, VerifyEmailDocument, { token });
      const me = await op(t, MeDocument, undefined, { token: a.accessToken });
      expect(me.data.me).toMatchObject({ role: 'ADMIN', emailVerified: true });
      expect((await op(t, UsersDocument, {}, { token: a.accessToken })).errors).toBeUndefined();
      const events = await op(t, SecurityEventsDocument, {}, { token: a.accessToken });
      expect(events.data.securityEvents.map((e) => e.type)).toEqual(
        expect.arrayContaining(['EMAIL_VERIFIED', 'ROLE_CHANGED']),
      );
    });

    it('a completed password reset of a listed address grants ADMIN too; other addresses stay USER', async () => {
      const listed = 'someone@example.org';
      const a = await register(t, listed);
      await op(t, RequestPasswordResetDocument, { email: listed });
      const { token } = await mailedToken(smtp, listed, 'reset-password');
      await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      const s = await login(t, listed, NEW_PASSWORD);
      expect(s.user).toMatchObject({ role: 'ADMIN', emailVerified: true });

      const other = await register(t);
      const v = await mailedToken(smtp, other.email, 'verify-email');
      await op(t, VerifyEmailDocument, { token: v.token });
      const me = await op(t, MeDocument, undefined, { token: other.accessToken });
      expect(me.data.me).toMatchObject({ role: 'USER', emailVerified: true });
      expect(a.user.id).not.toBe(other.user.id);
    });
  });

  describe('requestPasswordReset', () => {
    it('answers true whether or not an account exists, and mails {APP_URL}/reset-password?token=<token> only to an existing one', async () => {
      const a = await register(t);
      const unknown = uniqueEmail('nobody');
      const known = await op(t, RequestPasswordResetDocument, {
        email: `  ${a.email.toUpperCase()} `,
      });
      const none = await op(t, RequestPasswordResetDocument, { email: unknown });
      expect(known.data.requestPasswordReset).toBe(true);
      expect(none.data.requestPasswordReset).toBe(true);
      const { token, mail } = await mailedToken(smtp, a.email, 'reset-password');
      expect(mail.subject).toBe('Reset your password');
      expect(mail.text).toContain(`${APP_URL}/reset-password?token=${token}`);
      await flushMail(t, smtp);
      expect(smtp.to(unknown)).toHaveLength(0);
      expect(await t.db.prisma.mail.count({ where: { to: unknown } })).toBe(0);
      // Both requests are in the security log; the unknown one with no user.
      const requested = await t.db.prisma.securityEvent.findMany({
        where: { type: 'PASSWORD_RESET_REQUESTED', id: { gt: a.user.id } },
      });
      expect(requested.map((e) => e.userId)).toEqual(expect.arrayContaining([a.user.id, null]));
    });

    it('a malformed email is BAD_USER_INPUT naming email', async () => {
      for (const email of ['not-an-email', `${'a'.repeat(250)}@example.com`, 'a@b.c\u0000']) {
        const r = await op(t, RequestPasswordResetDocument, { email });
        expect(r.code).toBe('BAD_USER_INPUT');
        expect(fieldsOf(r)).toEqual(['email']);
      }
    });

    it('per-address cooldown: at most one reset mail per ACCOUNT_MAIL_COOLDOWN, silently', async () => {
      const a = await register(t);
      const answers = await Promise.all(
        [1, 2, 3, 4].map(() => op(t, RequestPasswordResetDocument, { email: a.email })),
      );
      expect(answers.map((r) => r.data.requestPasswordReset)).toEqual([true, true, true, true]);
      await mailedToken(smtp, a.email, 'reset-password');
      await flushMail(t, smtp);
      expect(smtp.to(a.email).filter((m) => m.subject === 'Reset your password')).toHaveLength(1);
      expect(
        await t.db.prisma.accountToken.count({
          where: { userId: a.user.id, purpose: 'RESET_PASSWORD' },
        }),
      ).toBe(1);
    });

    it('a disabled account gets no reset mail (still true)', async () => {
      const a = await register(t);
      await t.db.prisma.user.update({
        where: { email: a.email },
        data: { disabledAt: new Date() },
      });
      expect(
        (await op(t, RequestPasswordResetDocument, { email: a.email })).data.requestPasswordReset,
      ).toBe(true);
      await flushMail(t, smtp);
      expect(smtp.to(a.email).filter((m) => m.subject === 'Reset your password')).toHaveLength(0);
    });
  });

  describe('resetPassword', () => {
    it('sets the password, answers true, does not log in; the old password stops working', async () => {
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      const sessionsBefore = await t.db.prisma.session.count({ where: { userId: a.user.id } });
      const r = await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      expect(r.errors).toBeUndefined();
      expect(r.data.resetPassword).toBe(true);
      expect(r.setCookie).toEqual([]);
      expect(await t.db.prisma.session.count({ where: { userId: a.user.id } })).toBe(
        sessionsBefore,
      );
      const old = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
      expect(old.code).toBe('UNAUTHENTICATED');
      await login(t, a.email, NEW_PASSWORD);
    });

    it('revokes EVERY session of the user: refresh tokens and access tokens alike', async () => {
      const a = await register(t);
      const b = await login(t, a.email);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      expect((await op(t, MeDocument, undefined, { token: b.accessToken })).errors).toBeUndefined();
      await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      for (const s of [a, b]) {
        expect((await op(t, MeDocument, undefined, { token: s.accessToken })).code).toBe(
          'UNAUTHENTICATED',
        );
        const refreshed = await op(t, RefreshTokenDocument, {
          input: { refreshToken: s.refreshToken },
        });
        expect(refreshed.code).toBe('UNAUTHENTICATED');
      }
      const live = await t.db.prisma.session.count({
        where: { userId: a.user.id, revokedAt: null },
      });
      expect(live).toBe(0);
    });

    it('the new password follows the rules of register: a weak one is BAD_USER_INPUT (newPassword) and does not consume the token', async () => {
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      for (const newPassword of ['short', 'x'.repeat(1025)]) {
        const r = await op(t, ResetPasswordDocument, { input: { token, newPassword } });
        expect(r.code).toBe('BAD_USER_INPUT');
        expect(fieldsOf(r)).toEqual(['newPassword']);
      }
      // Every character counts, as in register (more than bcrypt's 72 bytes, any Unicode).
      const long = `${'é'.repeat(100)}🔑${'z'.repeat(40)}`;
      const ok = await op(t, ResetPasswordDocument, { input: { token, newPassword: long } });
      expect(ok.data.resetPassword).toBe(true);
      await login(t, a.email, long);
      const almost = await op(t, LoginDocument, {
        input: { email: a.email, password: long.slice(0, -1) },
      });
      expect(almost.code).toBe('UNAUTHENTICATED');
    });

    it('an unknown, used, or malformed token is BAD_USER_INPUT naming token', async () => {
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      expect(
        (await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } })).data
          .resetPassword,
      ).toBe(true);
      for (const bad of [token, 'B'.repeat(43), 'nope']) {
        const r = await op(t, ResetPasswordDocument, {
          input: { token: bad, newPassword: 'another passphrase' },
        });
        expect(r.code).toBe('BAD_USER_INPUT');
        expect(fieldsOf(r)).toEqual(['token']);
      }
      await login(t, a.email, NEW_PASSWORD);
    });

    it('two concurrent uses of one token: exactly one succeeds', async () => {
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      const passwords = [1, 2, 3, 4, 5].map((i) => `concurrent password ${i}`);
      const answers = await Promise.all(
        passwords.map((newPassword) =>
          op(t, ResetPasswordDocument, { input: { token, newPassword } }),
        ),
      );
      const winners = answers.filter((r) => r.data?.resetPassword === true);
      expect(winners).toHaveLength(1);
      expect(answers.filter((r) => r.code === 'BAD_USER_INPUT')).toHaveLength(4);
      const won = passwords[answers.findIndex((r) => r.data?.resetPassword === true)];
      await login(t, a.email, won);
      // Two of the losers (AUTH_LOGIN_MAX_FAILURES is 3 here).
      for (const p of passwords.filter((x) => x !== won).slice(0, 2)) {
        expect((await op(t, LoginDocument, { input: { email: a.email, password: p } })).code).toBe(
          'UNAUTHENTICATED',
        );
      }
      expect(
        await t.db.prisma.securityEvent.count({
          where: { userId: a.user.id, type: 'PASSWORD_RESET' },
        }),
      ).toBe(1);
    });

    it('kills every other outstanding reset token', async () => {
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const first = await mailedToken(smtp, a.email, 'reset-password');
      await cooldownPassed(a.email);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const second = await mailedToken(smtp, a.email, 'reset-password', 1);
      await op(t, ResetPasswordDocument, {
        input: { token: second.token, newPassword: NEW_PASSWORD },
      });
      const r = await op(t, ResetPasswordDocument, {
        input: { token: first.token, newPassword: 'yet another passphrase' },
      });
      expect(fieldsOf(r)).toEqual(['token']);
      await login(t, a.email, NEW_PASSWORD);
    });

    it('any password change kills the outstanding reset tokens (changePassword)', async () => {
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      const changed = await op(
        t,
        ChangePasswordDocument,
        { input: { currentPassword: PASSWORD, newPassword: 'changed by the owner' } },
        { token: a.accessToken },
      );
      expect(changed.errors).toBeUndefined();
      const r = await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      expect(fieldsOf(r)).toEqual(['token']);
      await login(t, a.email, 'changed by the owner');
    });

    it('an account disabled by an admin meanwhile: its reset token is dead, also once enabled again', async () => {
      const admin = await register(t);
      await t.db.prisma.user.update({ where: { id: admin.user.id }, data: { role: 'ADMIN' } });
      const a = await register(t);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      for (const disabled of [true, false]) {
        const r = await op(
          t,
          SetUserDisabledDocument,
          { userId: a.user.id, disabled },
          { token: admin.accessToken },
        );
        expect(r.errors).toBeUndefined();
      }
      const r = await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      expect(fieldsOf(r)).toEqual(['token']);
      await login(t, a.email);
    });

    it('counts the address as verified', async () => {
      const a = await register(t);
      expect(a.user.emailVerified).toBe(false);
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      const s = await login(t, a.email, NEW_PASSWORD);
      expect(s.user.emailVerified).toBe(true);
      const types = (
        await op(t, SecurityEventsDocument, {}, { token: s.accessToken })
      ).data.securityEvents.map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['PASSWORD_RESET', 'EMAIL_VERIFIED']));
      // The verification link mailed at register is of no more use, but harmless.
      const v = await mailedToken(smtp, a.email, 'verify-email');
      expect((await op(t, VerifyEmailDocument, { token: v.token })).data.verifyEmail).toBe(true);
    });

    it("clears the account's failed-login lock", async () => {
      const a = await register(t);
      for (let i = 0; i < 3; i++)
        await op(t, LoginDocument, { input: { email: a.email, password: 'wrong password!' } });
      const locked = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
      expect(locked.code).toBe('TOO_MANY_REQUESTS');
      await op(t, RequestPasswordResetDocument, { email: a.email });
      const { token } = await mailedToken(smtp, a.email, 'reset-password');
      await op(t, ResetPasswordDocument, { input: { token, newPassword: NEW_PASSWORD } });
      await login(t, a.email, NEW_PASSWORD);
    });
  });

  it('no database row and no log line holds a mailed token', async () => {
    expect(tokens.length).toBeGreaterThan(15);
    const dump = await dumpDatabase(t);
    for (const token of tokens) {
      expect(dump.includes(token), 'a token in the database').toBe(false);
      for (const l of lines) expect(l.includes(token), `a token in the log: ${l}`).toBe(false);
    }
    expect(lines.some((l) => l.includes('"event":"mail_sent"'))).toBe(true);
  });
});

/** Waits until the outbox has nothing due or in flight (every queued mail sent or given up). */
async function flushMail(t: TestApp, _smtp: TestSmtp): Promise<void> {
  await until('outbox drained', async () => {
    const pending = await t.db.prisma.mail.count({ where: { nextAttemptAt: { not: null } } });
    return pending === 0;
  });
}

describe('token lifetimes and the per-IP limit', () => {
  let smtp: TestSmtp;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(
      {
        ...FAST_MAIL,
        SMTP_URL: smtp.url,
        EMAIL_VERIFICATION_TTL: '4s',
        PASSWORD_RESET_TTL: '4s',
        AUTH_RATE_LIMIT: '3',
        AUTH_RATE_LIMIT_WINDOW: '10m',
      },
      { logLines: lines },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.stop();
  });

  /** Waits until the database's clock is past the token's expiry (a barrier on the clock). */
  async function expired(token: string) {
    const row = await t.db.prisma.accountToken.findUniqueOrThrow({
      where: { tokenHash: sha256(token) },
    });
    await until('the token expired', async () => {
      const [{ now }] = await t.db.prisma.$queryRawUnsafe<{ now: Date }[]>('SELECT now() AS now');
      return now > row.expiresAt;
    });
  }

  it('an expired verification token (EMAIL_VERIFICATION_TTL) and an expired reset token (PASSWORD_RESET_TTL) are BAD_USER_INPUT naming token', async () => {
    const a = await register(t);
    const v = await mailedToken(smtp, a.email, 'verify-email');
    await op(
      t,
      RequestPasswordResetDocument,
      { email: a.email },
      {
        headers: { 'x-forwarded-for': '198.51.100.1' },
      },
    );
    const r = await mailedToken(smtp, a.email, 'reset-password');
    await expired(v.token);
    await expired(r.token);
    const verify = await op(t, VerifyEmailDocument, { token: v.token });
    expect(verify.code).toBe('BAD_USER_INPUT');
    expect(fieldsOf(verify)).toEqual(['token']);
    const reset = await op(t, ResetPasswordDocument, {
      input: { token: r.token, newPassword: NEW_PASSWORD },
    });
    expect(fieldsOf(reset)).toEqual(['token']);
    expect(
      (await op(t, MeDocument, undefined, { token: a.accessToken })).data.me.emailVerified,
    ).toBe(false);
    await login(t, a.email);
  });

  it('requestPasswordReset counts toward the per-IP limit like login: the 4th call is TOO_MANY_REQUESTS, known address or not', async () => {
    const a = await register(t);
    const ip = { headers: { 'x-forwarded-for': '203.0.113.7' } };
    const answers = [];
    for (const email of [a.email, uniqueEmail('x'), a.email, uniqueEmail('y')])
      answers.push(await op(t, RequestPasswordResetDocument, { email }, ip));
    expect(answers.slice(0, 3).map((r) => r.data.requestPasswordReset)).toEqual([true, true, true]);
    expect(codes(answers[3])).toEqual(['TOO_MANY_REQUESTS']);
    const other = await op(
      t,
      RequestPasswordResetDocument,
      { email: a.email },
      {
        headers: { 'x-forwarded-for': '203.0.113.8' },
      },
    );
    expect(other.data.requestPasswordReset).toBe(true);
  });

  it('verifyEmail and resetPassword are limited per IP as well: the 4th call is TOO_MANY_REQUESTS', async () => {
    const calls = {
      verifyEmail: (ip: object) => op(t, VerifyEmailDocument, { token: 'C'.repeat(43) }, ip),
      resetPassword: (ip: object) =>
        op(
          t,
          ResetPasswordDocument,
          { input: { token: 'C'.repeat(43), newPassword: NEW_PASSWORD } },
          ip,
        ),
    };
    for (const [name, call] of Object.entries(calls)) {
      const ip = {
        headers: { 'x-forwarded-for': name === 'verifyEmail' ? '203.0.113.9' : '203.0.113.10' },
      };
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push((await call(ip)).code);
      expect(answers, name).toEqual([
        'BAD_USER_INPUT',
        'BAD_USER_INPUT',
        'BAD_USER_INPUT',
        'TOO_MANY_REQUESTS',
      ]);
    }
  });
});
