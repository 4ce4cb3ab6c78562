import { Injectable, Logger } from '@nestjs/common';
import { normaliseEmail } from '../common/rules.js';
import { AppConfig } from '../config/app-config.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { LoginAttemptStore } from '../lockout/login-attempts.js';
import { MailOutbox } from '../mail/mail-outbox.js';
import { MailWorker } from '../mail/mail-worker.js';
import { PasswordService } from '../passwords/password.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { UsersRepository } from '../users/users.repository.js';
import {
  AccountTokensRepository,
  hashAccountToken,
  newAccountToken,
} from './account-tokens.repository.js';
import { invalidToken, VerificationService } from './verification.service.js';

/**
 * Password reset: requestPasswordReset mails {APP_URL}/reset-password?token=…
 * (valid PASSWORD_RESET_TTL) to an existing account; resetPassword consumes
 * the token, sets the password, and ends every session.
 */
@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger('Account');

  constructor(
    private readonly config: AppConfig,
    private readonly transactions: Transactions,
    private readonly tokens: AccountTokensRepository,
    private readonly outbox: MailOutbox,
    private readonly worker: MailWorker,
    private readonly passwords: PasswordService,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly verification: VerificationService,
    private readonly attempts: LoginAttemptStore,
  ) {}

  /**
   * Answers true whether or not the address has an account, doing the same
   * work either way: one token and one encrypted mail are prepared, and ONE
   * statement writes them only if the account exists, is enabled and got no
   * reset mail in the last ACCOUNT_MAIL_COOLDOWN, and records the request
   * (PASSWORD_RESET_REQUESTED) in every case. No password hash, no mail
   * server: the worker is woken either way and delivers in the background.
   */
  async request(rawEmail: string, client: ClientInfo): Promise<boolean> {
    const email = normaliseEmail(rawEmail);
    const token = newAccountToken();
    const expiresAt = new Date(Date.now() + this.config.env.PASSWORD_RESET_TTL);
    await this.tokens.requestReset(
      email,
      {
        tokenHash: hashAccountToken(token),
        expiresAt,
        mail: this.outbox.prepare(email, 'reset-password', {
          token,
          expiresAt: expiresAt.toISOString(),
        }),
      },
      this.config.env.ACCOUNT_MAIL_COOLDOWN,
      client,
    );
    // Unconditionally, so that a known address does not cost more than an unknown one here.
    this.worker.wake();
    // Nothing that tells whether a mail was queued (the log is not for that).
    this.logger.log({ reqId: client.requestId, event: 'password_reset_requested' });
    return true;
  }

  /**
   * resetPassword. The new password passed its rules already (InputPipe), so
   * a weak one never consumes the token. A dead token is refused before any
   * hashing; the password is hashed outside the transaction; then, in ONE
   * transaction: the token is consumed (compare-and-swap), the password set
   * if the credentials are still the token's version (bumping the version:
   * every other reset token dies with it), the address counted as verified
   * (+ the ADMIN_EMAILS grant), every session of the user revoked, and the
   * events written. After the commit the account's failed-login lock is
   * cleared. It opens no session.
   */
  async reset(input: { token: string; newPassword: string }, client: ClientInfo): Promise<boolean> {
    const tokenHash = hashAccountToken(input.token);
    if (!(await this.tokens.isLive('RESET_PASSWORD', tokenHash))) throw invalidToken();
    const passwordHash = await this.passwords.hash(input.newPassword);
    const done = await this.transactions.run(async (tx) => {
      const t = await this.tokens.consume(tx, 'RESET_PASSWORD', tokenHash);
      if (!t) throw invalidToken();
      if (!(await this.users.replacePassword(tx, t.userId, t.credentialsVersion, passwordHash)))
        throw invalidToken(); // the credentials changed while this ran
      const revoked = await this.sessions.endSessionsAfter(tx, {
        userId: t.userId,
        reason: 'password_reset',
        event: 'PASSWORD_RESET',
        client,
      });
      await this.verification.proveAddress(tx, t, client);
      return { ...t, revoked };
    });
    await this.attempts.clear(done.email);
    this.logger.log({
      reqId: client.requestId,
      event: 'password_reset',
      userId: done.userId,
      sessionsRevoked: done.revoked,
    });
    return true;
  }
}
