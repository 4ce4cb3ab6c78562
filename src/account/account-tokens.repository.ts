import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { Prisma } from '../generated/prisma/client.js';
import { PrismaClient } from '../generated/prisma/client.js';
import type { AccountTokenPurpose } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { MailOutbox, type PreparedMail } from '../mail/mail-outbox.js';
import { SqlParams } from '../mail/sql-params.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** A new one-time token: 32 random bytes (256 bits), base64url (rules.ts OPAQUE_TOKEN). */
export function newAccountToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this is stored: SHA-256, hex (a 256-bit random token needs no slow hash). */
export function hashAccountToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A token to write with its mail: the hash, the expiry, and the mail (already encrypted). */
export interface NewAccountToken {
  tokenHash: string;
  expiresAt: Date;
  mail: PreparedMail;
}

/** What consuming a token hands back. */
export interface ConsumedToken {
  userId: string;
  email: string;
  credentialsVersion: number;
}

/**
 * All persistence of one-time account tokens (table account_tokens) and of
 * what they change on the user row (email_verified_at, the ADMIN_EMAILS
 * grant, the mail cooldowns). A token row is written in the same statement
 * as its outbox mail; it is consumed by ONE compare-and-swap statement
 * (`used_at IS NULL` in the WHERE of the UPDATE), so that of two concurrent
 * uses exactly one gets the row back: PostgreSQL re-checks the WHERE of a
 * blocked UPDATE against the winner's committed row.
 */
@Injectable()
export class AccountTokensRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * A verification token and its mail for a user whose address is not
   * verified yet, unless one was queued less than `cooldownMs` ago (then
   * nothing). One statement: the cooldown is a compare-and-swap on
   * users.verify_mail_sent_at, so concurrent calls queue one mail. True when
   * a mail was queued.
   */
  async issueVerification(
    db: Db,
    user: { id: string; email: string },
    t: NewAccountToken,
    cooldownMs: number,
  ): Promise<boolean> {
    const p = new SqlParams();
    const rows = await db.$queryRawUnsafe<{ queued: number }[]>(
      `WITH u AS (
         UPDATE users SET verify_mail_sent_at = now()
          WHERE id = ${p.add(user.id, '::uuid')} AND email = ${p.add(user.email)}
            AND email_verified_at IS NULL
            AND ${cooledDownSql('verify_mail_sent_at', cooldownMs, p)}
         RETURNING id, email, credentials_version
       ), t AS (
         ${tokenInsertSql('VERIFY_EMAIL', t, 'u', p)}
       ), m AS (
         ${MailOutbox.insertSql(t.mail, 'u', p)}
       )
       SELECT (SELECT count(*) FROM t)::int AS queued`,
      ...p.values,
    );
    return rows[0]?.queued === 1;
  }

  /**
   * requestPasswordReset, as ONE statement whatever the address: a reset
   * token and its mail only for an existing, enabled account whose last
   * reset mail is older than `cooldownMs` (a compare-and-swap on
   * users.reset_mail_sent_at), and the PASSWORD_RESET_REQUESTED event in
   * every case (user id null for an unknown address). A known and an
   * unknown address therefore cost the same statements. True when a mail
   * was queued.
   */
  async requestReset(
    email: string,
    t: NewAccountToken,
    cooldownMs: number,
    client: ClientInfo,
  ): Promise<boolean> {
    const p = new SqlParams();
    const e = p.add(email);
    const rows = await this.prisma.$queryRawUnsafe<{ queued: number }[]>(
      `WITH u AS (
         UPDATE users SET reset_mail_sent_at = now()
          WHERE email = ${e} AND disabled_at IS NULL
            AND ${cooledDownSql('reset_mail_sent_at', cooldownMs, p)}
         RETURNING id, email, credentials_version
       ), t AS (
         ${tokenInsertSql('RESET_PASSWORD', t, 'u', p)}
       ), m AS (
         ${MailOutbox.insertSql(t.mail, 'u', p)}
       ), ev AS (
         INSERT INTO security_events (id, type, user_id, ip, user_agent, request_id, created_at)
         VALUES (${p.add(uuidv7(), '::uuid')}, 'PASSWORD_RESET_REQUESTED',
                 (SELECT id FROM users WHERE email = ${e}),
                 ${p.add(client.ip)}, ${p.add(client.userAgent)}, ${p.add(client.requestId)}, now())
         RETURNING id
       )
       SELECT (SELECT count(*) FROM t)::int AS queued`,
      ...p.values,
    );
    return rows[0]?.queued === 1;
  }

  /**
   * True when the token could be consumed now (unused, unexpired, and for a
   * reset still of the user's current credentials). Only a shortcut that
   * spares a password hash for a dead token: the consumption itself is the
   * compare-and-swap of consume().
   */
  async isLive(purpose: AccountTokenPurpose, tokenHash: string): Promise<boolean> {
    const rows = await this.prisma.$queryRawUnsafe<unknown[]>(
      `SELECT 1 FROM account_tokens t
        WHERE t.token_hash = $1 AND t.purpose = $2::"AccountTokenPurpose"
          AND t.used_at IS NULL AND t.expires_at > now()
          AND ${LIVE_CREDENTIALS}`,
      tokenHash,
      purpose,
    );
    return rows.length === 1;
  }

  /**
   * Consumes a token: ONE compare-and-swap. Null when it is unknown, of
   * another purpose, used, expired or (reset) of older credentials: a
   * password change since it was issued bumped users.credentials_version,
   * which kills every outstanding reset token without touching it.
   */
  async consume(
    db: Db,
    purpose: AccountTokenPurpose,
    tokenHash: string,
  ): Promise<ConsumedToken | null> {
    const rows = await db.$queryRawUnsafe<ConsumedToken[]>(
      `UPDATE account_tokens t SET used_at = now()
        WHERE t.token_hash = $1 AND t.purpose = $2::"AccountTokenPurpose"
          AND t.used_at IS NULL AND t.expires_at > now()
          AND ${LIVE_CREDENTIALS}
        RETURNING t.user_id AS "userId", t.email, t.credentials_version AS "credentialsVersion"`,
      tokenHash,
      purpose,
    );
    return rows[0] ?? null;
  }

  /**
   * The address `email` of the user is proven: email_verified_at is set if it
   * was not, and if the address is one of `adminEmails` the role becomes
   * ADMIN. Says what changed (for the security events); null when the user no
   * longer has that address.
   */
  async markVerified(
    db: Db,
    userId: string,
    email: string,
    adminEmails: string[],
  ): Promise<{ newlyVerified: boolean; madeAdmin: boolean } | null> {
    const rows = await db.$queryRawUnsafe<{ newlyVerified: boolean; madeAdmin: boolean }[]>(
      `WITH before AS (
         SELECT id, email_verified_at, role FROM users
          WHERE id = $1::uuid AND email = $2 FOR UPDATE
       )
       UPDATE users u
          SET email_verified_at = COALESCE(u.email_verified_at, now()),
              role = CASE WHEN u.email = ANY($3::text[]) THEN 'ADMIN'::"Role" ELSE u.role END,
              updated_at = now()
         FROM before
        WHERE u.id = before.id
       RETURNING before.email_verified_at IS NULL AS "newlyVerified",
                 (before.role <> u.role) AS "madeAdmin"`,
      userId,
      email,
      adminEmails,
    );
    return rows[0] ?? null;
  }
}

/** A reset token lives only while the user's credentials are the ones it was issued for. */
const LIVE_CREDENTIALS = `(t.purpose <> 'RESET_PASSWORD' OR EXISTS (
            SELECT 1 FROM users u
             WHERE u.id = t.user_id AND u.credentials_version = t.credentials_version))`;

/**
 * The per-address cooldown of a kind of mail (ACCOUNT_MAIL_COOLDOWN): true
 * when none was sent yet or the last one is older than `cooldownMs`.
 */
function cooledDownSql(
  sentAt: 'verify_mail_sent_at' | 'reset_mail_sent_at',
  cooldownMs: number,
  p: SqlParams,
): string {
  return `(${sentAt} IS NULL
           OR ${sentAt} <= now() - ${p.add(cooldownMs, '::float8')} * interval '1 millisecond')`;
}

/** `INSERT INTO account_tokens … SELECT … FROM <source>` (source has id, email, credentials_version). */
function tokenInsertSql(
  purpose: AccountTokenPurpose,
  t: NewAccountToken,
  source: string,
  p: SqlParams,
): string {
  return `INSERT INTO account_tokens
            (id, user_id, purpose, token_hash, email, credentials_version, created_at, expires_at)
          SELECT ${p.add(uuidv7(), '::uuid')}, ${source}.id, '${purpose}'::"AccountTokenPurpose",
                 ${p.add(t.tokenHash)}, ${source}.email, ${source}.credentials_version, now(),
                 ${p.add(t.expiresAt.toISOString(), '::timestamptz')}
            FROM ${source}
          RETURNING id`;
}
