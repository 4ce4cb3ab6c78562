import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisableTotpDocument, RegenerateRecoveryCodesDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { codes, op } from './helpers.js';
import {
  codeAt,
  mfaToken,
  registerWithMfa,
  safeMoment,
  stepNow,
  verifyMfa,
} from './mfa-helpers.js';

/**
 * docs/api.md, "Second factor": a code works once (the last accepted time
 * step is kept by a compare-and-swap), concurrent calls included; an
 * mfaToken takes at most 5 codes, counted atomically; ±1 step of drift.
 */
describe('second factor: replay, concurrency and tries', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const liveSessions = (userId: string) =>
    t.db.prisma.session.count({ where: { userId, revokedAt: null } });
  const events = (userId: string, type: 'MFA_FAILED' | 'LOGIN' | 'RECOVERY_CODE_USED') =>
    t.db.prisma.securityEvent.count({ where: { userId, type } });

  it('a code accepted once is refused again (replay), with a new mfaToken and in disableTotp', async () => {
    const u = await registerWithMfa(t);
    const code = await u.totp.next();
    expect((await verifyMfa(t, await mfaToken(t, u.email), code)).errors).toBeUndefined();
    const replay = await verifyMfa(t, await mfaToken(t, u.email), code);
    expect(replay.code).toBe('UNAUTHENTICATED');
    const off = await op(t, DisableTotpDocument, { code }, { token: u.accessToken });
    expect(off.code).toBe('UNAUTHENTICATED');
    expect(await events(u.userId, 'MFA_FAILED')).toBe(2);
  });

  /** A user whose factor has accepted no code yet, at a moment with at least 5 s left in the step. */
  async function freshFactor() {
    const u = await registerWithMfa(t);
    await t.db.prisma.totpFactor.update({
      where: { userId: u.userId },
      data: { lastUsedStep: null },
    });
    await safeMoment();
    return { ...u, now: stepNow() };
  }

  it('a code one step early or late is accepted; two steps away is refused', async () => {
    const behind = await freshFactor();
    const rb = await verifyMfa(
      t,
      await mfaToken(t, behind.email),
      await codeAt(behind.totp.secret, behind.now - 1),
    );
    expect(rb.errors).toBeUndefined();
    const ahead = await freshFactor();
    const ra = await verifyMfa(
      t,
      await mfaToken(t, ahead.email),
      await codeAt(ahead.totp.secret, ahead.now + 1),
    );
    expect(ra.errors).toBeUndefined();
    const far = await freshFactor();
    for (const step of [far.now - 2, far.now + 2]) {
      const code = await codeAt(far.totp.secret, step);
      if (code === (await codeAt(far.totp.secret, far.now))) continue; // the same digits by chance
      expect((await verifyMfa(t, await mfaToken(t, far.email), code)).code).toBe('UNAUTHENTICATED');
    }
  });

  it('after a step was accepted, the codes of that step and the steps before it are refused', async () => {
    const u = await freshFactor();
    const later = await codeAt(u.totp.secret, u.now + 1);
    expect((await verifyMfa(t, await mfaToken(t, u.email), later)).errors).toBeUndefined();
    for (const step of [u.now, u.now - 1]) {
      const code = await codeAt(u.totp.secret, step);
      if (code === later) continue; // the same digits by chance
      expect((await verifyMfa(t, await mfaToken(t, u.email), code)).code).toBe('UNAUTHENTICATED');
    }
  });

  it('one code sent twice at once with one mfaToken: one session, one refusal', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const code = await u.totp.next();
    const before = await liveSessions(u.userId);
    const rs = await Promise.all([verifyMfa(t, token, code), verifyMfa(t, token, code)]);
    expect(rs.map((r) => r.code ?? 'ok').sort()).toEqual(['UNAUTHENTICATED', 'ok']);
    expect(await liveSessions(u.userId)).toBe(before + 1);
  });

  it('one code sent at once with two mfaTokens (two logins): one session, one refusal', async () => {
    const u = await registerWithMfa(t);
    const [a, b] = [await mfaToken(t, u.email), await mfaToken(t, u.email)];
    const code = await u.totp.next();
    const before = await liveSessions(u.userId);
    const rs = await Promise.all([verifyMfa(t, a, code), verifyMfa(t, b, code)]);
    expect(rs.map((r) => r.code ?? 'ok').sort()).toEqual(['UNAUTHENTICATED', 'ok']);
    expect(await liveSessions(u.userId)).toBe(before + 1);
    expect(await events(u.userId, 'LOGIN')).toBe(1);
  });

  it('one recovery code sent at once with two mfaTokens: one session', async () => {
    const u = await registerWithMfa(t);
    const [a, b] = [await mfaToken(t, u.email), await mfaToken(t, u.email)];
    const code = u.recoveryCodes[0];
    const before = await liveSessions(u.userId);
    const rs = await Promise.all([verifyMfa(t, a, code), verifyMfa(t, b, code)]);
    expect(rs.map((r) => r.code ?? 'ok').sort()).toEqual(['UNAUTHENTICATED', 'ok']);
    expect(await liveSessions(u.userId)).toBe(before + 1);
    expect(await events(u.userId, 'RECOVERY_CODE_USED')).toBe(1);
  });

  it('one recovery code in two concurrent regenerateRecoveryCodes: one new set', async () => {
    const u = await registerWithMfa(t);
    const code = u.recoveryCodes[2];
    const rs = await Promise.all(
      [1, 2].map(() => op(t, RegenerateRecoveryCodesDocument, { code }, { token: u.accessToken })),
    );
    expect(rs.map((r) => r.code ?? 'ok').sort()).toEqual(['UNAUTHENTICATED', 'ok']);
    const fresh = rs.find((r) => !r.errors)!.data.regenerateRecoveryCodes;
    // The codes stored are the ten of the answer that succeeded.
    expect(await t.db.prisma.recoveryCode.count({ where: { userId: u.userId } })).toBe(10);
    const ok = await verifyMfa(t, await mfaToken(t, u.email), fresh[0]);
    expect(ok.errors).toBeUndefined();
  });

  it('5 wrong codes kill an mfaToken: the right code is then refused with it', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const right = await u.totp.next();
    const wrong = right === '999999' ? '888888' : '999999';
    for (let i = 0; i < 5; i++)
      expect((await verifyMfa(t, token, wrong)).code).toBe('UNAUTHENTICATED');
    expect((await verifyMfa(t, token, right)).code).toBe('UNAUTHENTICATED');
    // The code itself was not spent: a new login takes it.
    expect((await verifyMfa(t, await mfaToken(t, u.email), right)).errors).toBeUndefined();
  });

  it('4 wrong codes leave the mfaToken alive for the 5th try', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const right = await u.totp.next();
    const wrong = right === '999999' ? '888888' : '999999';
    for (let i = 0; i < 4; i++) await verifyMfa(t, token, wrong);
    expect((await verifyMfa(t, token, right)).errors).toBeUndefined();
  });

  it('50 concurrent wrong codes with one mfaToken get at most 5 checks; the token is dead after', async () => {
    const u = await registerWithMfa(t);
    const token = await mfaToken(t, u.email);
    const right = await u.totp.next();
    const wrongs = Array.from({ length: 50 }, (_, i) =>
      String(100000 + i * 7919).slice(0, 6),
    ).filter((c) => c !== right);
    const rs = await Promise.all(wrongs.map((c) => verifyMfa(t, token, c)));
    expect(new Set(rs.flatMap(codes))).toEqual(new Set(['UNAUTHENTICATED']));
    // Each checked code is an MFA_FAILED event; the others never reached a check.
    expect(await events(u.userId, 'MFA_FAILED')).toBe(5);
    const row = await t.db.prisma.mfaChallenge.findFirst({
      where: { userId: u.userId },
      orderBy: { createdAt: 'desc' },
    });
    expect(row!.failedAttempts).toBe(5);
    expect((await verifyMfa(t, token, right)).code).toBe('UNAUTHENTICATED');
    expect(await liveSessions(u.userId)).toBe(1);
  });
});
