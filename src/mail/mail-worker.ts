import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { MailOutbox, type ClaimedMail } from './mail-outbox.js';
import { MailTransport } from './mail-transport.js';
import { PayloadCipher } from './payload-cipher.js';
import { isTemplateName, render, type LinkMailParams } from './templates.js';

/** Mails claimed per round trip; a full batch is followed at once by the next claim. */
const BATCH = 20;
/** On shutdown, sends in flight get this long before the transport is closed under them. */
const SHUTDOWN_GRACE_MS = 5_000;
/** A stored or logged error message is cut to this many characters. */
const ERROR_MAX = 500;

/**
 * Delivers the outbox in the background: no request ever waits for the mail
 * server. It claims due mails (mail-outbox.ts: atomically, so several
 * instances never send one mail twice), renders and sends each, and records
 * the outcome. A failed send is retried after MAIL_RETRY_DELAY, doubling up
 * to MAIL_RETRY_MAX_DELAY, for as long as the mail server is down and across
 * restarts (the state is in the table). A mail is given up, logged without
 * its token, when it is older than MAIL_GIVE_UP_AFTER, when its link expired
 * before it could be delivered, or at once when the server refuses its
 * recipient for good (a 5xx reply to RCPT TO).
 *
 * It runs when woken (right after a transaction that queued a mail commits),
 * every MAIL_POLL_INTERVAL (mails queued by other instances, retries, mails
 * left by a restart), and when the earliest retry it scheduled is due.
 */
@Injectable()
export class MailWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Mail');
  private poller: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = Infinity;
  private draining: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly outbox: MailOutbox,
    private readonly transport: MailTransport,
    private readonly cipher: PayloadCipher,
  ) {}

  onApplicationBootstrap(): void {
    this.poller = setInterval(() => this.wake(), this.config.env.MAIL_POLL_INTERVAL);
    this.poller.unref();
    this.wake(); // whatever an earlier run left queued
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poller);
    clearTimeout(this.retryTimer);
    if (this.draining) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.draining,
        new Promise((r) => (timer = setTimeout(r, SHUTDOWN_GRACE_MS))),
      ]);
      clearTimeout(timer);
    }
    // A mail still being sent now fails and is retried; one whose outcome is
    // not recorded stays claimed and is claimed again after MAIL_CLAIM_LEASE.
    this.transport.close();
  }

  /** Delivers what is due, now, in the background. Safe to call any time, as often as wanted. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Resolves when nothing is being delivered by this instance (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const batch = await this.outbox.claim(BATCH, this.config.env.MAIL_CLAIM_LEASE);
        if (batch.length === 0) return;
        await Promise.all(batch.map((m) => this.deliver(m)));
        if (batch.length < BATCH || this.stopped) return;
      }
    } catch (e) {
      // The database is down (or going away): the next poll tries again.
      this.logger.warn({ event: 'mail_worker_failed', message: (e as Error)?.message });
    }
  }

  private async deliver(m: ClaimedMail): Promise<void> {
    const params = this.params(m);
    if (typeof params === 'string') return this.giveUp(m, params);
    if (m.now.getTime() - m.createdAt.getTime() >= this.config.env.MAIL_GIVE_UP_AFTER)
      return this.giveUp(m, 'not delivered within MAIL_GIVE_UP_AFTER');
    if (Date.parse(params.expiresAt) <= m.now.getTime())
      return this.giveUp(m, 'its link expired before it could be delivered');
    const template = m.template as Parameters<typeof render>[1];
    const mail = render(this.config.env.APP_URL, template, params);
    try {
      await this.transport.send({ id: m.id, to: m.to, template: m.template, ...mail });
    } catch (e) {
      return this.failed(m, e, params.token);
    }
    if (!(await this.outbox.markSent(m))) {
      // Our lease ran out during the send and another claim took the row: it may go twice.
      this.logger.warn({ event: 'mail_claim_lost', mailId: m.id, template: m.template });
      return;
    }
    this.logger.log({
      event: 'mail_sent',
      mailId: m.id,
      template: m.template,
      attempts: m.attempts,
      recipientDomain: domainOf(m.to),
    });
  }

  /** The template parameters, or why the mail cannot be sent at all. */
  private params(m: ClaimedMail): LinkMailParams | string {
    if (!isTemplateName(m.template)) return `unknown template ${JSON.stringify(m.template)}`;
    if (m.payload === null) return 'no payload';
    const plain = this.cipher.decrypt(m.payload, { id: m.id, to: m.to, template: m.template });
    if (plain === null) return 'payload cannot be decrypted (was JWT_ACCESS_SECRET changed?)';
    const p = JSON.parse(plain) as LinkMailParams;
    return p;
  }

  private async failed(m: ClaimedMail, e: unknown, token: string): Promise<void> {
    const err = e as { message?: string; code?: string; permanent?: boolean; rejected?: string[] };
    // Never store or log the token, whatever a server or library echoed back.
    const message = `${err.code ? `${err.code}: ` : ''}${String(err.message ?? e)}`
      .replaceAll(token, '[token]')
      .slice(0, ERROR_MAX);
    const recipientRefused = err.permanent === true && (err.rejected?.length ?? 0) > 0;
    const retryInMs = Math.min(
      this.config.env.MAIL_RETRY_MAX_DELAY,
      this.config.env.MAIL_RETRY_DELAY * 2 ** Math.min(30, m.attempts - 1),
    );
    const outcome = await this.outbox.markFailed(m, message, {
      retryInMs,
      giveUp: recipientRefused,
      giveUpAfterMs: this.config.env.MAIL_GIVE_UP_AFTER,
    });
    const fields = {
      mailId: m.id,
      template: m.template,
      attempts: m.attempts,
      recipientDomain: domainOf(m.to),
      error: message,
    };
    if (outcome === 'given_up') {
      this.logger.error({ event: 'mail_given_up', ...fields });
    } else if (outcome === 'retry') {
      this.logger.warn({ event: 'mail_retry', ...fields, retryInMs });
      this.scheduleRetry(retryInMs);
    }
  }

  private async giveUp(m: ClaimedMail, reason: string): Promise<void> {
    await this.outbox.markFailed(m, reason, {
      retryInMs: 0,
      giveUp: true,
      giveUpAfterMs: this.config.env.MAIL_GIVE_UP_AFTER,
    });
    this.logger.error({
      event: 'mail_given_up',
      mailId: m.id,
      template: m.template,
      attempts: m.attempts,
      recipientDomain: domainOf(m.to),
      error: reason,
    });
  }

  /** Wakes when the earliest retry is due, if that is before the next poll. */
  private scheduleRetry(inMs: number): void {
    if (this.stopped || inMs >= this.config.env.MAIL_POLL_INTERVAL) return;
    const at = Date.now() + inMs;
    if (at >= this.retryAt) return;
    clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryAt = Infinity;
      this.wake();
    }, inMs + 10);
    this.retryTimer.unref();
  }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
