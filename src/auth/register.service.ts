import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import { normaliseEmail, normaliseName } from '../common/rules.js';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { Transactions } from '../database/transactions.js';
import { VerificationService } from '../account/verification.service.js';
import { Role } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { PasswordService } from '../passwords/password.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { logAuthEvent } from './auth-log.js';
import { AMR_PASSWORD, SessionIssuer, type IssuedTokens } from './session-issuer.service.js';

/**
 * register: a new user with role USER (ADMIN_EMAILS grants ADMIN only once
 * the address is verified), its verification mail, its first session and the
 * REGISTER event, in one transaction. The input's rules were applied by the InputPipe.
 */
@Injectable()
export class RegisterService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly transactions: Transactions,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly issuer: SessionIssuer,
    private readonly verification: VerificationService,
  ) {}

  async register(
    input: { email: string; password: string; name?: string | null },
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    const email = normaliseEmail(input.email);
    const passwordHash = await this.passwords.hash(input.password);
    let issued: IssuedTokens;
    try {
      issued = await this.transactions.run(async (tx) => {
        const user = await this.users.create(tx, {
          email,
          name: normaliseName(input.name),
          passwordHash,
          role: Role.USER,
        });
        // The verification mail (token + outbox row) commits with the account or not at all.
        await this.verification.issue(tx, user);
        return this.issuer.open(
          user,
          { amr: AMR_PASSWORD, credentialsVersion: user.credentialsVersion, event: 'REGISTER' },
          client,
          tx,
        );
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw AppError.conflict('An account with this email already exists');
      throw e;
    }
    this.verification.wake();
    logAuthEvent(this.logger, 'log', client, { event: 'register', userId: issued.user.id });
    return issued;
  }
}
