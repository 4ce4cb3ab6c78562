import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { logAuthEvent } from '../auth/auth-log.js';
import {
  AMR_PASSWORD_OTP,
  SessionIssuer,
  type IssuedTokens,
} from '../auth/session-issuer.service.js';
import { AppError } from '../common/errors.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { UsersRepository } from '../users/users.repository.js';
import { mfaTokenHash } from './codes.js';
import { MfaRepository } from './mfa.repository.js';
import { SecondFactorService } from './second-factor.service.js';

const deadToken = () =>
  AppError.unauthenticated(
    'This mfaToken is unknown, expired, used or out of tries: log in again',
    'MFA_TOKEN_DEAD',
  );

/**
 * verifyMfa: the second step of a login. One of the mfaToken's 5 tries is
 * reserved first (so 50 concurrent codes get at most 5 checks), then one per
 * account; then, in ONE transaction, the code is used (TOTP step or recovery
 * code, compare-and-swap), the challenge is used up (compare-and-swap), and
 * the session is opened with amr ["pwd","otp"] at the credentials version the
 * password was checked at, with its LOGIN event (FORBIDDEN for a disabled
 * account, UNAUTHENTICATED when the credentials changed since).
 */
@Injectable()
export class VerifyMfaService {
  private readonly logger = new Logger('Mfa');

  constructor(
    private readonly repo: MfaRepository,
    private readonly factor: SecondFactorService,
    private readonly issuer: SessionIssuer,
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  async verify(
    input: { mfaToken: string; code: string },
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    const challenge = await this.repo.reserveChallenge(mfaTokenHash(input.mfaToken), new Date());
    if (!challenge) {
      logAuthEvent(this.logger, 'warn', client, { event: 'mfa_token_dead' });
      throw deadToken();
    }
    const userId = challenge.userId;
    await this.factor.reserve(userId, client);
    const issued = await this.transactions.run(async (tx) => {
      const kind = await this.factor.use(tx, userId, input.code);
      if (!kind) return null;
      // Two concurrent right codes with one token: one session.
      if (!(await this.repo.consumeChallenge(tx, challenge.id))) throw deadToken();
      const user = await this.users.findById(userId, tx);
      if (!user) throw deadToken();
      if (kind === 'recovery') {
        await this.audit.record(tx, { type: 'RECOVERY_CODE_USED', userId, client });
      }
      return this.issuer.open(
        user,
        { amr: AMR_PASSWORD_OTP, credentialsVersion: challenge.credentialsVersion },
        client,
        tx,
      );
    });
    if (!issued) throw await this.factor.failed(userId, client, 'verifyMfa');
    await this.factor.succeeded(userId);
    logAuthEvent(this.logger, 'log', client, { event: 'login', userId, amr: 'pwd,otp' });
    return issued;
  }
}
