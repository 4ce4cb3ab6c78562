import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppError } from '../common/errors.js';
import { normalisePassword } from '../common/rules.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { LoginAttemptStore } from '../lockout/login-attempts.js';
import { PasswordService } from '../passwords/password.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { logAuthEvent } from './auth-log.js';
import type { Principal } from './principal.js';

/**
 * changePassword: checks the current password and sets the new one, ending
 * every other session of the user and (through the credentials version) any
 * login in flight and every outstanding reset token.
 *
 * Wrong current passwords are limited per user, apart from the login lock: a
 * stranger's failed logins (which lock the account's LOGINS) never stop the
 * logged-in owner from changing the password. A wrong one still counts as a
 * failed login of the account, so a stolen session cannot guess freely here.
 */
@Injectable()
export class ChangePasswordService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly attempts: LoginAttemptStore,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  async changePassword(
    principal: Principal,
    input: { currentPassword: string; newPassword: string },
    client: ClientInfo,
  ): Promise<boolean> {
    const userId = principal.user.id;
    // The same normalisation as the hash's: equal here means the same password.
    if (normalisePassword(input.newPassword) === normalisePassword(input.currentPassword)) {
      throw AppError.badInput([
        { field: 'newPassword', message: 'must differ from the current password' },
      ]);
    }
    const counter = `change-password:${userId}`;
    const reservation = await this.attempts.reserve(counter);
    if (reservation.retryAfterSeconds > 0) {
      throw AppError.tooManyRequests(
        reservation.retryAfterSeconds,
        'account',
        `Too many wrong current passwords: try again in ${reservation.retryAfterSeconds} s`,
      );
    }
    const user = await this.users.findById(userId);
    if (!user || !(await this.passwords.verify(input.currentPassword, user.passwordHash))) {
      await this.attempts.recordFailure(principal.user.email);
      logAuthEvent(this.logger, 'warn', client, { event: 'change_password_failed', userId });
      await this.audit.record(null, {
        type: 'LOGIN_FAILED',
        userId,
        sessionId: principal.sessionId,
        client,
      });
      throw AppError.unauthenticated('Current password is wrong', 'WRONG_PASSWORD');
    }
    await this.attempts.clear(counter);
    const hash = await this.passwords.hash(input.newPassword);
    const revoked = await this.transactions.run(async (tx) => {
      // The user row first: a login in flight that checked the old password
      // then finds the version changed, or waits and sees its session revoked below.
      if (!(await this.users.replacePassword(tx, userId, user.credentialsVersion, hash))) {
        throw AppError.unauthenticated(
          'The password was changed meanwhile: log in again',
          'CREDENTIALS_CHANGED',
        );
      }
      return this.sessions.endSessionsAfter(tx, {
        userId,
        reason: 'password_change',
        event: 'PASSWORD_CHANGED',
        keepSessionId: principal.sessionId,
        client,
      });
    });
    logAuthEvent(this.logger, 'log', client, {
      event: 'password_changed',
      userId,
      otherSessionsRevoked: revoked,
    });
    return true;
  }
}
