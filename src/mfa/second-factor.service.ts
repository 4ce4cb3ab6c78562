import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { logAuthEvent } from '../auth/auth-log.js';
import { AppError } from '../common/errors.js';
import type { Db } from '../database/db.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { LoginAttemptStore } from '../lockout/login-attempts.js';
import { isTotpCode, recoveryCodeHash, totpStep } from './codes.js';
import { MfaRepository } from './mfa.repository.js';
import { SecretCipher } from './secret-cipher.js';

/** Which kind of code was accepted. */
export type CodeKind = 'totp' | 'recovery';

/**
 * Checks a code of a confirmed second factor (verifyMfa, disableTotp,
 * regenerateRecoveryCodes): a TOTP code of now ±1 step, later than the last
 * accepted step (remembered by a compare-and-swap, so a code works once, even
 * for two concurrent calls), or an unused recovery code (used up by a
 * compare-and-swap). Wrong codes are counted per account in the failed-login
 * store (key `mfa:<user id>`, AUTH_LOGIN_MAX_FAILURES per
 * AUTH_LOGIN_FAILURE_WINDOW), reserved before the check like a password's.
 */
@Injectable()
export class SecondFactorService {
  private readonly logger = new Logger('Mfa');

  constructor(
    private readonly repo: MfaRepository,
    private readonly cipher: SecretCipher,
    private readonly attempts: LoginAttemptStore,
    private readonly audit: AuditRepository,
  ) {}

  /** Reserves a try against the account's limit; TOO_MANY_REQUESTS when they are spent. */
  async reserve(userId: string, client: ClientInfo): Promise<void> {
    const r = await this.attempts.reserve(counter(userId));
    if (r.retryAfterSeconds > 0) {
      logAuthEvent(this.logger, 'warn', client, { event: 'mfa_locked', userId });
      throw AppError.tooManyRequests(
        r.retryAfterSeconds,
        'account',
        `Too many wrong codes for this account: try again in ${r.retryAfterSeconds} s`,
      );
    }
  }

  /**
   * Uses the code if it is right (inside the caller's transaction: the
   * compare-and-swap commits with the change it allows), else null. Only a
   * confirmed factor is checked.
   */
  async use(db: Db, userId: string, code: string): Promise<CodeKind | null> {
    if (!isTotpCode(code)) {
      return (await this.repo.useRecoveryCode(db, userId, recoveryCodeHash(userId, code)))
        ? 'recovery'
        : null;
    }
    const factor = await this.repo.findFactor(db, userId);
    if (!factor?.confirmedAt) return null;
    const secret = this.cipher.open(factor, userId);
    if (secret === null) {
      this.logger.error({ event: 'mfa_secret_undecryptable', userId, keyId: factor.keyId });
      return null;
    }
    const step = await totpStep(secret, code, factor.lastUsedStep);
    if (step === null) return null;
    return (await this.repo.acceptStep(db, userId, step)) ? 'totp' : null;
  }

  /** A right code: the account's count of wrong ones starts again. */
  async succeeded(userId: string): Promise<void> {
    await this.attempts.clear(counter(userId));
  }

  /** A wrong code: MFA_FAILED in the security log and a log line (never the code). */
  async failed(
    userId: string,
    client: ClientInfo,
    where: string,
    sessionId: string | null = null,
  ): Promise<AppError> {
    logAuthEvent(this.logger, 'warn', client, { event: 'mfa_failed', userId, operation: where });
    await this.audit.record(null, { type: 'MFA_FAILED', userId, sessionId, client });
    return AppError.unauthenticated('Wrong, expired or already used code', 'MFA_CODE_WRONG');
  }
}

function counter(userId: string): string {
  return `mfa:${userId}`;
}
