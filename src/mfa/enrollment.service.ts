import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { logAuthEvent } from '../auth/auth-log.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import type { Db } from '../database/db.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { SessionsService } from '../sessions/sessions.service.js';
import {
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  recoveryCodeHash,
  totpStep,
} from './codes.js';
import { MfaRepository } from './mfa.repository.js';
import { SecondFactorService } from './second-factor.service.js';
import { SecretCipher } from './secret-cipher.js';
import { TotpEnrollment } from './totp-enrollment.model.js';

const wrongCode = () =>
  AppError.badInput([{ field: 'code', message: 'is not the current code of this secret' }]);

/**
 * The second factor of the caller: enrollTotp, confirmTotp, disableTotp,
 * regenerateRecoveryCodes. Each change and its security event commit in one
 * transaction.
 */
@Injectable()
export class EnrollmentService {
  private readonly logger = new Logger('Mfa');

  constructor(
    private readonly config: AppConfig,
    private readonly repo: MfaRepository,
    private readonly cipher: SecretCipher,
    private readonly factor: SecondFactorService,
    private readonly sessions: SessionsService,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  /** A new pending secret (replacing a pending one); CONFLICT when a second factor is on. */
  async enroll(principal: Principal, client: ClientInfo): Promise<TotpEnrollment> {
    const user = principal.user;
    if (user.mfaEnabled) throw alreadyOn();
    const secret = newTotpSecret();
    if (!(await this.repo.upsertPending(user.id, this.cipher.seal(secret, user.id)))) {
      throw alreadyOn();
    }
    logAuthEvent(this.logger, 'log', client, { event: 'mfa_enrolment_started', userId: user.id });
    const e = new TotpEnrollment();
    e.secret = secret;
    e.otpauthUri = otpauthUri(this.config.env.MFA_ISSUER, user.email, secret);
    return e;
  }

  /**
   * Turns the pending factor on with a current code: every other session of
   * the user ends, the 10 recovery codes are returned (never shown again).
   * A wrong code is BAD_USER_INPUT (field code).
   */
  async confirm(principal: Principal, code: string, client: ClientInfo): Promise<string[]> {
    const userId = principal.user.id;
    const codes = newRecoveryCodes();
    const revoked = await this.transactions.run(async (tx) => {
      const f = await this.repo.findFactor(tx, userId);
      if (f?.confirmedAt) throw alreadyOn();
      if (!f) {
        throw AppError.badInput([
          { field: 'code', message: 'no enrolment is pending: call enrollTotp first' },
        ]);
      }
      const secret = this.cipher.open(f, userId);
      const step = secret === null ? null : await totpStep(secret, code, f.lastUsedStep);
      if (step === null) throw wrongCode();
      // A newer enrolment replaced this one meanwhile: the code is not of its secret.
      if (!(await this.repo.confirm(tx, userId, f.secretEncrypted, step))) throw wrongCode();
      await this.repo.setEnabled(tx, userId, true);
      const hashes = codes.map((c) => recoveryCodeHash(userId, c));
      await this.repo.replaceRecoveryCodes(tx, userId, hashes);
      return this.sessions.endSessionsAfter(tx, {
        userId,
        reason: 'mfa_enabled',
        event: 'MFA_ENABLED',
        keepSessionId: principal.sessionId,
        client,
      });
    });
    logAuthEvent(this.logger, 'log', client, {
      event: 'mfa_enabled',
      userId,
      otherSessionsRevoked: revoked,
    });
    return codes;
  }

  /** Turns the second factor off with a current TOTP code or an unused recovery code. */
  async disable(principal: Principal, code: string, client: ClientInfo): Promise<boolean> {
    await this.withCode(principal, code, client, 'disableTotp', async (tx) => {
      await this.repo.remove(tx, principal.user.id);
      await this.repo.setEnabled(tx, principal.user.id, false);
      await this.audit.record(tx, {
        type: 'MFA_DISABLED',
        userId: principal.user.id,
        sessionId: principal.sessionId,
        client,
      });
    });
    logAuthEvent(this.logger, 'log', client, { event: 'mfa_disabled', userId: principal.user.id });
    return true;
  }

  /** 10 new recovery codes; the old ones die. */
  async regenerate(principal: Principal, code: string, client: ClientInfo): Promise<string[]> {
    const userId = principal.user.id;
    const codes = newRecoveryCodes();
    await this.withCode(principal, code, client, 'regenerateRecoveryCodes', async (tx) => {
      await this.repo.replaceRecoveryCodes(
        tx,
        userId,
        codes.map((c) => recoveryCodeHash(userId, c)),
      );
      await this.audit.record(tx, {
        type: 'RECOVERY_CODES_REGENERATED',
        userId,
        sessionId: principal.sessionId,
        client,
      });
    });
    logAuthEvent(this.logger, 'log', client, { event: 'recovery_codes_regenerated', userId });
    return codes;
  }

  /**
   * Runs `change` in one transaction with the use of the code (a used
   * recovery code is recorded as RECOVERY_CODE_USED); UNAUTHENTICATED for a
   * wrong code, CONFLICT when no second factor is on.
   */
  private async withCode(
    principal: Principal,
    code: string,
    client: ClientInfo,
    operation: string,
    change: (tx: Db) => Promise<void>,
  ): Promise<void> {
    const userId = principal.user.id;
    if (!principal.user.mfaEnabled) throw notOn();
    await this.factor.reserve(userId, client);
    const ok = await this.transactions.run(async (tx) => {
      const kind = await this.factor.use(tx, userId, code);
      if (!kind) return false;
      if (kind === 'recovery') {
        await this.audit.record(tx, {
          type: 'RECOVERY_CODE_USED',
          userId,
          sessionId: principal.sessionId,
          client,
        });
      }
      await change(tx);
      return true;
    });
    if (!ok) throw await this.factor.failed(userId, client, operation, principal.sessionId);
    await this.factor.succeeded(userId);
  }
}

function alreadyOn(): AppError {
  return AppError.conflict('A second factor is already on: disableTotp first');
}

function notOn(): AppError {
  return AppError.conflict('No second factor is on for this account');
}
