import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppError, INVALID_CREDENTIALS } from '../common/errors.js';
import { emailTooLong, normaliseEmail, passwordTooLarge } from '../common/rules.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { LoginAttemptStore } from '../lockout/login-attempts.js';
import { DeviceTokenService, type TrustedDevice } from '../devices/device-token.service.js';
import type { HashLane } from '../passwords/hash-queue.js';
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
    private readonly devices: DeviceTokenService,
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
    opts: { deviceToken?: string | null } = {},
  ): Promise<UserCredentialsRow> {
    const email = normaliseEmail(emailInput);
    const device = await this.trustedDevice(opts.deviceToken, email, client);
    // A trusted device is not held by the account's lock (that lock is for
    // strangers); its own attempts were counted against its token.
    const reservation = device ? null : await this.attempts.reserve(email);
    if (reservation && reservation.retryAfterSeconds > 0) {
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
    const { user, ok } = await this.check(email, password, device ? 'trusted' : 'default');
    if (!ok || !user) {
      await this.failed(user?.id ?? null, client, reservation?.remaining === 0);
      throw AppError.unauthenticated(INVALID_CREDENTIALS);
    }
    // A trusted device's success clears its own count only: the strangers'
    // count on the account (and their lock) stays.
    await this.attempts.clear(device ? device.key : email);
    if (user.disabledAt) throw accountDisabled();
    if (this.passwords.needsRehash(user.passwordHash)) this.rehash(user, password);
    return user;
  }

  /**
   * The device of a valid device token for this account (src/devices), with
   * this attempt counted against it; null for no token, an invalid or
   * expired one, another account's, or one whose attempts are used up (then
   * the login is an untrusted one, under the account's lock).
   */
  private async trustedDevice(
    token: string | null | undefined,
    email: string,
    client: ClientInfo,
  ): Promise<TrustedDevice | null> {
    const device = this.devices.verify(token, email);
    if (!device) return null;
    const r = await this.attempts.reserve(device.key);
    if (r.retryAfterSeconds > 0) {
      logAuthEvent(this.logger, 'warn', client, { event: 'device_token_locked' });
      return null;
    }
    return device;
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
    lane: HashLane,
  ): Promise<{ user: UserCredentialsRow | null; ok: boolean }> {
    // Too big to be anyone's: a failure, without any hashing.
    if (passwordTooLarge(password) || emailTooLong(email)) return { user: null, ok: false };
    // A full hashing queue refuses before the user is read: under a login
    // flood a refusal then costs no query (and says nothing about the email).
    this.passwords.admitOrThrow(lane);
    const user = await this.users.findByEmail(email);
    const ok = user
      ? await this.passwords.verify(password, user.passwordHash, lane)
      : await this.passwords.verifyDummy(password, lane);
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
