import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppError, INVALID_CREDENTIALS } from '../common/errors.js';
import { EMAIL_MAX, normaliseEmail, passwordTooLarge } from '../common/rules.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { LoginAttemptStore } from '../lockout/login-attempts.js';
import { PasswordService } from '../passwords/password.service.js';
import { UsersRepository, type UserCredentialsRow } from '../users/users.repository.js';
import { logAuthEvent } from './auth-log.js';
import { accountDisabled } from './session-issuer.service.js';

/**
 * The password check of a login: an attempt is reserved against the
 * account's limit before any work (so concurrent guesses cannot outrun it),
 * then one bcrypt compare whether or not the email exists (a dummy hash of
 * the same cost for unknown ones), so both take the same time and answer the
 * same error.
 */
@Injectable()
export class CredentialsService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly attempts: LoginAttemptStore,
    private readonly audit: AuditRepository,
  ) {}

  /**
   * The user, when the password is theirs and the account is enabled.
   * UNAUTHENTICATED (the same message for a wrong email and a wrong
   * password), TOO_MANY_REQUESTS when the account's attempts are spent,
   * FORBIDDEN for a disabled account (after a correct password only).
   */
  async verify(
    emailInput: string,
    password: string,
    client: ClientInfo,
  ): Promise<UserCredentialsRow> {
    const email = normaliseEmail(emailInput);
    const reservation = await this.attempts.reserve(email);
    if (reservation.retryAfterSeconds > 0) {
      logAuthEvent(this.logger, 'warn', client, {
        event: 'login_locked',
        retryAfterSeconds: reservation.retryAfterSeconds,
      });
      throw AppError.tooManyRequests(
        reservation.retryAfterSeconds,
        'account',
        `Too many failed logins for this account: try again in ${reservation.retryAfterSeconds} s`,
      );
    }
    const { user, ok } = await this.check(email, password);
    if (!ok || !user) {
      await this.failed(user?.id ?? null, client, reservation.remaining === 0);
      throw AppError.unauthenticated(INVALID_CREDENTIALS);
    }
    await this.attempts.clear(email);
    if (user.disabledAt) throw accountDisabled();
    if (this.passwords.needsRehash(user.passwordHash)) this.rehash(user, password);
    return user;
  }

  /**
   * A stored hash of another cost than BCRYPT_ROUNDS is replaced by one at
   * the current cost after a correct password (in the background: the login
   * does not wait; under load the hashing queue may refuse it, and the next
   * login tries again). Until then a known email's check takes the old
   * cost's time while an unknown one's takes the current cost's.
   */
  private rehash(user: UserCredentialsRow, password: string): void {
    this.passwords
      .hash(password)
      .then((hash) => this.users.rehash(user.id, user.passwordHash, hash))
      .catch((e: unknown) =>
        this.logger.debug({ event: 'rehash_skipped', userId: user.id, reason: String(e) }),
      );
  }

  private async check(
    email: string,
    password: string,
  ): Promise<{ user: UserCredentialsRow | null; ok: boolean }> {
    // Too big to be anyone's: a failure, without any hashing.
    if (passwordTooLarge(password) || email.length > EMAIL_MAX) return { user: null, ok: false };
    const user = await this.users.findByEmail(email);
    const ok = user
      ? await this.passwords.verify(password, user.passwordHash)
      : await this.passwords.verifyDummy(password);
    return { user, ok };
  }

  /** LOGIN_FAILED (user id null for an unknown email), and LOGIN_LOCKED when it used the last attempt. */
  private async failed(userId: string | null, client: ClientInfo, locked: boolean): Promise<void> {
    logAuthEvent(this.logger, 'warn', client, { event: 'login_failed', userId });
    await this.audit.record(null, { type: 'LOGIN_FAILED', userId, client });
    if (locked) {
      logAuthEvent(this.logger, 'warn', client, { event: 'login_locked', userId });
      await this.audit.record(null, { type: 'LOGIN_LOCKED', userId, client });
    }
  }
}
