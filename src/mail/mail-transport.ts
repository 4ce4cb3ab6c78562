import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import nodemailer from 'nodemailer';
import type { AppConfig } from '../config/app-config.js';
import type { RenderedMail } from './templates.js';

/** One mail as the worker hands it to a transport. */
export interface OutgoingMail extends RenderedMail {
  id: string;
  to: string;
  template: string;
}

/** Where mails go: an SMTP server (SMTP_URL), or, outside production without one, files. */
export abstract class MailTransport {
  /** Resolves once the mail was accepted; rejects with nodemailer's error otherwise. */
  abstract send(mail: OutgoingMail): Promise<void>;
  abstract close(): void;
}

/**
 * A send gives up after these (connect, greeting, an idle socket), so one
 * attempt always ends well inside the claim's lease (MAIL_CLAIM_LEASE, 2 min).
 */
export const SMTP_TIMEOUTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
} as const;

/**
 * nodemailer over SMTP_URL, with a small connection pool: mails queued
 * together go over one connection, and a connection is re-opened when the
 * server comes back. STARTTLS is used whenever the server offers it
 * (nodemailer's default for smtp://); smtps:// is TLS from the start.
 */
export class SmtpMailTransport extends MailTransport {
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;

  constructor(config: AppConfig) {
    super();
    this.transport = nodemailer.createTransport(
      {
        url: config.env.SMTP_URL,
        pool: true,
        maxConnections: 3,
        ...SMTP_TIMEOUTS,
      },
      { from: config.env.MAIL_FROM },
    );
  }

  async send(m: OutgoingMail): Promise<void> {
    await this.transport.sendMail({
      to: m.to,
      subject: m.subject,
      text: m.text,
      html: m.html,
      headers: { 'X-Auth-Api-Mail': m.template },
    });
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * Development without SMTP_URL: each mail becomes an .eml file (the raw
 * message nodemailer would have sent) in DATA_DIR/mail, readable by any mail
 * program or a text editor. The log says which file, never what it holds.
 */
export class FileMailTransport extends MailTransport {
  private readonly logger = new Logger('Mail');
  private readonly composer;
  readonly dir: string;

  constructor(config: AppConfig) {
    super();
    this.dir = join(config.dataDir, 'mail');
    this.composer = nodemailer.createTransport(
      { streamTransport: true, buffer: true, newline: 'unix' },
      { from: config.env.MAIL_FROM },
    );
  }

  async send(m: OutgoingMail): Promise<void> {
    const info = await this.composer.sendMail({
      to: m.to,
      subject: m.subject,
      text: m.text,
      html: m.html,
      headers: { 'X-Auth-Api-Mail': m.template },
    });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const path = join(this.dir, `${stamp}_${m.template}_${m.id}.eml`);
    await writeFile(path, info.message as Buffer, { mode: 0o600 });
    this.logger.log({ event: 'mail_written', mailId: m.id, template: m.template, path });
  }

  close(): void {}
}
