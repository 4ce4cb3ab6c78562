import { Injectable } from '@nestjs/common';
import type { Db } from '../database/db.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { MFA_TOKEN_MAX_ATTEMPTS } from './codes.js';
import type { SealedSecret } from './secret-cipher.js';

/** A TOTP factor as read for a check. */
export interface FactorRow extends SealedSecret {
  userId: string;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
}

/** A challenge that an attempt was just reserved on. */
export interface ReservedChallenge {
  id: string;
  userId: string;
  credentialsVersion: number;
}

/**
 * All persistence of the second factor: TOTP factors, recovery codes and the
 * challenges of the login's second step. Every "use it once" is a
 * compare-and-swap in one statement: PostgreSQL re-checks the WHERE of an
 * UPDATE that waited for a concurrent one, so of two concurrent uses exactly
 * one changes the row.
 */
@Injectable()
export class MfaRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** A new pending factor, replacing a pending one; false when a confirmed one exists. */
  async upsertPending(userId: string, s: SealedSecret): Promise<boolean> {
    const n = await this.prisma.$executeRaw`
      INSERT INTO totp_factors (user_id, secret_encrypted, key_id, created_at)
      VALUES (${userId}::uuid, ${s.secretEncrypted}, ${s.keyId}, now())
      ON CONFLICT (user_id) DO UPDATE
         SET secret_encrypted = EXCLUDED.secret_encrypted, key_id = EXCLUDED.key_id,
             created_at = EXCLUDED.created_at, last_used_step = NULL
       WHERE totp_factors.confirmed_at IS NULL`;
    return n === 1;
  }

  async findFactor(db: Db, userId: string): Promise<FactorRow | null> {
    const f = await db.totpFactor.findUnique({ where: { userId } });
    if (!f) return null;
    return {
      userId: f.userId,
      secretEncrypted: f.secretEncrypted,
      keyId: f.keyId,
      confirmedAt: f.confirmedAt,
      lastUsedStep: f.lastUsedStep === null ? null : Number(f.lastUsedStep),
    };
  }

  /**
   * Confirms the pending factor that was checked (same ciphertext: a newer
   * enrolment is not confirmed by the code of an older one), remembering the
   * step of the code. False when it changed meanwhile.
   */
  async confirm(db: Db, userId: string, secretEncrypted: string, step: number): Promise<boolean> {
    const n = await db.$executeRaw`
      UPDATE totp_factors SET confirmed_at = now(), last_used_step = ${step}
       WHERE user_id = ${userId}::uuid AND confirmed_at IS NULL
         AND secret_encrypted = ${secretEncrypted}`;
    return n === 1;
  }

  /** Accepts a code's time step only if it is later than every step accepted before (no replay). */
  async acceptStep(db: Db, userId: string, step: number): Promise<boolean> {
    const n = await db.$executeRaw`
      UPDATE totp_factors SET last_used_step = ${step}
       WHERE user_id = ${userId}::uuid AND confirmed_at IS NOT NULL
         AND (last_used_step IS NULL OR last_used_step < ${step})`;
    return n === 1;
  }

  /** Uses an unused recovery code; false when there is none with this hash (or it was used). */
  async useRecoveryCode(db: Db, userId: string, codeHash: string): Promise<boolean> {
    const n = await db.$executeRaw`
      UPDATE recovery_codes SET used_at = now()
       WHERE user_id = ${userId}::uuid AND code_hash = ${codeHash} AND used_at IS NULL`;
    return n === 1;
  }

  /** The user's recovery codes become these (the old ones, used or not, are deleted). */
  async replaceRecoveryCodes(db: Db, userId: string, hashes: string[]): Promise<void> {
    await db.recoveryCode.deleteMany({ where: { userId } });
    await db.recoveryCode.createMany({ data: hashes.map((codeHash) => ({ userId, codeHash })) });
  }

  /** Unused recovery codes left. */
  unusedRecoveryCodes(userId: string): Promise<number> {
    return this.prisma.recoveryCode.count({ where: { userId, usedAt: null } });
  }

  /**
   * Turns the flag on or off and bumps the credentials version (what a login
   * proves changed: logins in flight and one-time tokens of the old version die).
   */
  async setEnabled(db: Db, userId: string, enabled: boolean): Promise<void> {
    await db.user.update({
      where: { id: userId },
      data: { mfaEnabled: enabled, credentialsVersion: { increment: 1 } },
    });
  }

  /** Removes the factor, its recovery codes and its pending challenges. */
  async remove(db: Db, userId: string): Promise<void> {
    await db.totpFactor.deleteMany({ where: { userId } });
    await db.recoveryCode.deleteMany({ where: { userId } });
    await db.mfaChallenge.deleteMany({ where: { userId } });
  }

  async createChallenge(c: {
    userId: string;
    tokenHash: string;
    credentialsVersion: number;
    expiresAt: Date;
  }): Promise<void> {
    await this.prisma.mfaChallenge.create({ data: c });
  }

  /**
   * Reserves one of the MFA_TOKEN_MAX_ATTEMPTS tries of a live challenge, in
   * one statement, BEFORE its code is checked: a burst of concurrent codes
   * gets at most that many checks. Null for an unknown, used, expired or
   * spent token.
   */
  async reserveChallenge(tokenHash: string, now: Date): Promise<ReservedChallenge | null> {
    const rows = await this.prisma.$queryRaw<ReservedChallenge[]>`
      UPDATE mfa_challenges SET failed_attempts = failed_attempts + 1
       WHERE token_hash = ${tokenHash} AND consumed_at IS NULL
         AND expires_at > ${now}::timestamptz AND failed_attempts < ${MFA_TOKEN_MAX_ATTEMPTS}
       RETURNING id, user_id AS "userId", credentials_version AS "credentialsVersion"`;
    return rows[0] ?? null;
  }

  /** Uses a challenge up (single use); false when a concurrent call did first. */
  async consumeChallenge(db: Db, id: string): Promise<boolean> {
    const n = await db.$executeRaw`
      UPDATE mfa_challenges SET consumed_at = now() WHERE id = ${id}::uuid AND consumed_at IS NULL`;
    return n === 1;
  }

  /** Factors encrypted with another key than `keyId`, a batch at a time (key rotation). */
  factorsNotUnder(keyId: string, take: number, afterUserId?: string) {
    return this.prisma.totpFactor.findMany({
      where: { keyId: { not: keyId }, ...(afterUserId ? { userId: { gt: afterUserId } } : {}) },
      orderBy: { userId: 'asc' },
      select: { userId: true, secretEncrypted: true, keyId: true },
      take,
    });
  }

  /** Replaces a ciphertext by its re-encryption, if it is still the one read. */
  async rewrap(userId: string, old: string, s: SealedSecret): Promise<boolean> {
    const r = await this.prisma.totpFactor.updateMany({
      where: { userId, secretEncrypted: old },
      data: { secretEncrypted: s.secretEncrypted, keyId: s.keyId },
    });
    return r.count === 1;
  }
}
