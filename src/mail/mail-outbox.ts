import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import { PayloadCipher } from './payload-cipher.js';
import type { SqlParams } from './sql-params.js';
import type { LinkMailParams, TemplateName } from './templates.js';

/** A mail ready to be written into the outbox: its parameters already encrypted. */
export interface PreparedMail {
  id: string;
  to: string;
  template: TemplateName;
  /** The encrypted template parameters (payload-cipher.ts). */
  payload: string;
}

/** A mail the worker claimed: due, leased to this instance until the lease ends. */
export interface ClaimedMail {
  id: string;
  to: string;
  template: string;
  payload: string | null;
  /** Including this attempt. */
  attempts: number;
  createdAt: Date;
  /** The database's clock when it was claimed (every instance uses that one). */
  now: Date;
}

type Db = PrismaClient | Prisma.TransactionClient;

/**
 * The transactional outbox (table mail_outbox). A mail is written in the
 * transaction that makes it necessary (the token it carries is written by
 * the same statement or transaction), so it exists exactly when its token
 * does; the worker (mail-worker.ts) delivers it afterwards. Every state
 * change of a row is one statement on the database's clock:
 *
 * - due: `next_attempt_at <= now()`;
 * - claimed: `next_attempt_at` pushed to now() + lease and `attempts` + 1, by
 *   one UPDATE over a `FOR UPDATE SKIP LOCKED` selection, so that two
 *   instances never claim one row, and a claim whose instance died expires
 *   with its lease;
 * - sent / given up: `next_attempt_at` and the payload set to NULL (no token
 *   left in the table), `sent_at` or `failed_at` set. Guarded by the
 *   `attempts` of the claim: an instance whose lease ran out does not
 *   overwrite the newer claim's outcome.
 */
@Injectable()
export class MailOutbox {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly cipher: PayloadCipher,
  ) {}

  /** Encrypts the parameters; the row is written by enqueue() or insertSql(). */
  prepare(to: string, template: TemplateName, params: LinkMailParams): PreparedMail {
    const id = uuidv7();
    const payload = this.cipher.encrypt(JSON.stringify(params), { id, to, template });
    return { id, to, template, payload };
  }

  /** Writes a prepared mail in the caller's transaction. */
  async enqueue(db: Db, m: PreparedMail): Promise<void> {
    await db.mail.create({
      data: { id: m.id, to: m.to, template: m.template, payload: m.payload },
    });
  }

  /**
   * `INSERT INTO mail_outbox … SELECT … FROM <source>`, as one part of a
   * caller's statement (a CTE): the mail is written once per row of
   * `source`, i.e. only when the rest of that statement decided to send it.
   */
  static insertSql(m: PreparedMail, source: string, p: SqlParams): string {
    return `INSERT INTO mail_outbox (id, "to", template, payload, created_at, next_attempt_at)
            SELECT ${p.add(m.id, '::uuid')}, ${p.add(m.to)}, ${p.add(m.template)}, ${p.add(m.payload)},
                   now(), now()
              FROM ${source}
            RETURNING id`;
  }

  /** Claims up to `limit` due mails for `leaseMs`. */
  claim(limit: number, leaseMs: number): Promise<ClaimedMail[]> {
    return this.prisma.$queryRawUnsafe<ClaimedMail[]>(
      `UPDATE mail_outbox
          SET next_attempt_at = now() + $2::float8 * interval '1 millisecond',
              attempts = attempts + 1
        WHERE id IN (SELECT id FROM mail_outbox
                      WHERE next_attempt_at <= now()
                      ORDER BY next_attempt_at
                      LIMIT $1::int
                      FOR UPDATE SKIP LOCKED)
          AND next_attempt_at <= now()
        RETURNING id, "to", template, payload, attempts, created_at AS "createdAt", now() AS now`,
      limit,
      leaseMs,
    );
  }

  /** Delivered: no retry, no payload. False when another claim took the row meanwhile. */
  async markSent(m: ClaimedMail): Promise<boolean> {
    const n = await this.prisma.$executeRawUnsafe(
      `UPDATE mail_outbox
          SET sent_at = now(), next_attempt_at = NULL, payload = NULL, last_error = NULL
        WHERE id = $1::uuid AND attempts = $2::int AND sent_at IS NULL`,
      m.id,
      m.attempts,
    );
    return n === 1;
  }

  /**
   * A failed attempt: retried after `retryInMs`, unless `giveUp` or the mail
   * is older than `giveUpAfterMs`; then it is given up (payload removed).
   * Returns what happened, or null when another claim took the row meanwhile.
   */
  async markFailed(
    m: ClaimedMail,
    error: string,
    opts: { retryInMs: number; giveUp: boolean; giveUpAfterMs: number },
  ): Promise<'retry' | 'given_up' | null> {
    const rows = await this.prisma.$queryRawUnsafe<{ givenUp: boolean }[]>(
      `WITH d AS (
         SELECT id, ($3::boolean OR created_at <= now() - $4::float8 * interval '1 millisecond') AS stop
           FROM mail_outbox WHERE id = $1::uuid
       )
       UPDATE mail_outbox o
          SET last_error = $5,
              failed_at = CASE WHEN d.stop THEN now() END,
              next_attempt_at = CASE WHEN d.stop THEN NULL
                                     ELSE now() + $6::float8 * interval '1 millisecond' END,
              payload = CASE WHEN d.stop THEN NULL ELSE o.payload END
         FROM d
        WHERE o.id = d.id AND o.attempts = $2::int AND o.sent_at IS NULL
       RETURNING d.stop AS "givenUp"`,
      m.id,
      m.attempts,
      opts.giveUp,
      opts.giveUpAfterMs,
      error,
      opts.retryInMs,
    );
    if (!rows.length) return null;
    return rows[0].givenUp ? 'given_up' : 'retry';
  }
}
