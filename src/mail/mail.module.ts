import { Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { MailOutbox } from './mail-outbox.js';
import { FileMailTransport, MailTransport, SmtpMailTransport } from './mail-transport.js';
import { MailWorker } from './mail-worker.js';
import { PayloadCipher } from './payload-cipher.js';

/**
 * Transactional mail: features queue a mail in their own transaction
 * (MailOutbox) and wake the worker after it commits (MailWorker.wake); the
 * worker delivers over SMTP_URL, or outside production without it writes
 * .eml files into DATA_DIR/mail.
 */
@Module({
  providers: [
    PayloadCipher,
    MailOutbox,
    MailWorker,
    {
      provide: MailTransport,
      inject: [AppConfig],
      useFactory: (config: AppConfig): MailTransport => {
        const logger = new Logger('Mail');
        if (config.env.SMTP_URL) {
          const u = new URL(config.env.SMTP_URL);
          // The host only: the URL may carry a password.
          logger.log({ event: 'mail_transport', transport: 'smtp', host: u.host });
          return new SmtpMailTransport(config);
        }
        // config.schema.ts refuses production without SMTP_URL.
        const files = new FileMailTransport(config);
        logger.log({ event: 'mail_transport', transport: 'files', dir: files.dir });
        return files;
      },
    },
  ],
  exports: [MailOutbox, MailWorker],
})
export class MailModule {}
