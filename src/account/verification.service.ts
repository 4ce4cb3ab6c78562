import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/errors.js';
import { normaliseEmail } from '../common/rules.js';
import { AppConfig } from '../config/app-config.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { MailOutbox } from '../mail/mail-outbox.js';
import { MailWorker } from '../mail/mail-worker.js';
import type { User } from '../users/user.model.js';
import {
  AccountTokensRepository,
  hashAccountToken,
  newAccountToken,
  type ConsumedToken,
} from './account-tokens.repository.js';

/** The answer to a token that cannot be used (unknown, expired, used): the field `token`. */
export function invalidToken(): AppError {
  return AppError.badInput([{ field: 'token', message: 'is invalid, expired or already used' }]);
}

/**
 * Email verification: a token of EMAIL_VERIFICATION_TTL mailed as
 * {APP_URL}/verify-email?token=…; verifyEmail consumes it and marks the
 * address verified (and grants ADMIN to an ADMIN_EMAILS address).
 */
@Injectable()
export class VerificationService {
  private readonly logger = new Logger('Account');

  constructor(
    private readonly config: AppConfig,
    private readonly prisma: PrismaClient,
    private readonly tokens: AccountTokensRepository,
    private readonly outbox: MailOutbox,
    private readonly worker: MailWorker,
    private readonly audit: AuditRepository,
  ) {}

  /**
   * Queues a verification mail in the caller's transaction (register). Call
   * wake() once that transaction has committed, so the mail goes out at once.
   */
  async issue(tx: Prisma.TransactionClient, user: { id: string; email: string }): Promise<void> {
    await this.tokens.issueVerification(tx, user, this.newToken(user.email), 0);
  }

  /** Starts delivering what was queued (after the commit). */
  wake(): void {
    this.worker.wake();
  }

  /**
   * sendVerificationEmail: a new link to the caller, unless the address is
   * verified already or a verification mail was queued for it less than
   * ACCOUNT_MAIL_COOLDOWN ago; the answer is true either way. Earlier links
   * stay valid until they expire (they prove the same address).
   */
  async resend(user: User, client: ClientInfo): Promise<boolean> {
    if (user.emailVerified) return true;
    const queued = await this.tokens.issueVerification(
      this.prisma,
      { id: user.id, email: user.email },
      this.newToken(user.email),
      this.config.env.ACCOUNT_MAIL_COOLDOWN,
    );
    if (queued) this.worker.wake();
    this.logger.log({
      reqId: client.requestId,
      event: queued ? 'verification_mail_queued' : 'verification_mail_skipped',
      userId: user.id,
    });
    return true;
  }

  /** verifyEmail: consumes the token and proves its address. */
  async verify(token: string, client: ClientInfo): Promise<boolean> {
    const tokenHash = hashAccountToken(token);
    const consumed = await this.prisma.$transaction(async (tx) => {
      const t = await this.tokens.consume(tx, 'VERIFY_EMAIL', tokenHash);
      if (!t) throw invalidToken();
      await this.proveAddress(tx, t, client);
      return t;
    });
    this.logger.log({ reqId: client.requestId, event: 'email_verified', userId: consumed.userId });
    return true;
  }

  /**
   * The token's address is proven (verifyEmail, or a completed reset):
   * email_verified_at, the ADMIN_EMAILS grant, and their events, in `tx`.
   */
  async proveAddress(
    tx: Prisma.TransactionClient,
    t: ConsumedToken,
    client: ClientInfo,
  ): Promise<void> {
    const admins = this.config.env.ADMIN_EMAILS.map(normaliseEmail);
    const changed = await this.tokens.markVerified(tx, t.userId, t.email, admins);
    if (!changed) throw invalidToken(); // the account no longer has that address
    if (changed.newlyVerified)
      await this.audit.record(tx, { type: 'EMAIL_VERIFIED', userId: t.userId, client });
    if (changed.madeAdmin) {
      await this.audit.record(tx, { type: 'ROLE_CHANGED', userId: t.userId, client });
      this.logger.log({ reqId: client.requestId, event: 'admin_granted', userId: t.userId });
    }
  }

  private newToken(email: string) {
    const token = newAccountToken();
    const expiresAt = new Date(Date.now() + this.config.env.EMAIL_VERIFICATION_TTL);
    return {
      tokenHash: hashAccountToken(token),
      expiresAt,
      mail: this.outbox.prepare(email, 'verify-email', {
        token,
        expiresAt: expiresAt.toISOString(),
      }),
    };
  }
}
