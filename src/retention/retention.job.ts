import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../config/config.schema.js';
import type { Database } from '../database/prisma.js';

/**
 * Deletes what the API no longer needs, in small batches, on one instance at
 * a time. What is kept, and why (docs/deploying.md, "Retention"):
 *
 * - refresh_tokens: a row lives until its token expires (REFRESH_TOKEN_TTL
 *   after it was issued), rotated or not. Reuse detection needs the rotated
 *   ones: a thief who rotated a stolen token first leaves the victim holding
 *   the old one, and the victim may come back days later; when it is
 *   presented, the row says "already rotated" and the whole session (the
 *   thief's branch too) is revoked. How old that token may be is not
 *   bounded by anything but its own expiry, so keeping less (the last N of a
 *   session) would let exactly that case through. After its expiry a token
 *   is refused before any reuse check, so its row is no longer of use. A
 *   session refreshed every 15 minutes keeps at most 7 d / 15 min = 672 rows.
 * - sessions: an ended session (revoked, or past its expiry) is deleted
 *   SESSION_RETENTION after its expires_at, with what is left of its tokens.
 *   A revoked session cannot slide any more, so that is at most
 *   REFRESH_TOKEN_TTL + SESSION_RETENTION after the revocation.
 * - account_tokens (verification, reset) and mfa_challenges: once expired
 *   (used ones too: a used token is refused either way).
 * - mail_outbox: a mail sent or given up, MAIL_RETENTION after it was queued
 *   (its payload, the link's token, is already gone then); a mail still being
 *   retried is never deleted here.
 * - security_events: AUDIT_RETENTION after they happened.
 *
 * Every delete is `DELETE ... WHERE id IN (SELECT id ... LIMIT n FOR UPDATE
 * SKIP LOCKED)` over an index that already exists, so it never waits on a row
 * a request holds, and each batch is its own short transaction. The refresh
 * tokens are found by their primary key: ids are UUIDv7, so "issued more than
 * REFRESH_TOKEN_TTL ago" is a range of the primary key and no index on
 * expires_at is needed (it would be one more index written by every rotation);
 * expires_at is checked too, so a changed TTL deletes nothing early.
 */
export interface RetentionCounts {
  refreshTokens: number;
  sessions: number;
  accountTokens: number;
  mfaChallenges: number;
  mails: number;
  securityEvents: number;
}

export interface RetentionResult {
  /** false when another instance was running it (PostgreSQL's advisory lock). */
  ran: boolean;
  deleted: RetentionCounts;
  ms: number;
}

/** pg_advisory_lock key of the cleanup (the migrations use 72707369). */
export const RETENTION_LOCK_KEY = 72707370;

/** A pause between batches, so that requests get the database in between (PGlite runs one statement at a time). */
const BATCH_PAUSE_MS = 10;

type Exec = (text: string, values: unknown[]) => Promise<number>;

interface Rule {
  key: keyof RetentionCounts;
  table: string;
  /** The WHERE (and ORDER BY) of a batch's selection: its values are $2, $3… ($1 is the batch size). */
  where: (now: number, env: Env) => { sql: string; values: unknown[] };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The smallest UUIDv7 of this millisecond: every id issued before it sorts lower. */
export function uuidV7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

const RULES: Rule[] = [
  {
    key: 'refreshTokens',
    table: 'refresh_tokens',
    where: (now, env) => ({
      sql: `id < $2::uuid AND expires_at < $3::timestamptz ORDER BY id`,
      values: [uuidV7Floor(now - env.REFRESH_TOKEN_TTL), iso(now)],
    }),
  },
  {
    key: 'sessions',
    table: 'sessions',
    where: (now, env) => ({
      sql: `expires_at < $2::timestamptz`,
      values: [iso(now - env.SESSION_RETENTION)],
    }),
  },
  {
    key: 'accountTokens',
    table: 'account_tokens',
    where: (now) => ({ sql: `expires_at < $2::timestamptz`, values: [iso(now)] }),
  },
  {
    key: 'mfaChallenges',
    table: 'mfa_challenges',
    where: (now) => ({ sql: `expires_at < $2::timestamptz`, values: [iso(now)] }),
  },
  {
    key: 'mails',
    table: 'mail_outbox',
    where: (now, env) => ({
      sql: `created_at < $2::timestamptz AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`,
      values: [iso(now - env.MAIL_RETENTION)],
    }),
  },
  {
    key: 'securityEvents',
    table: 'security_events',
    where: (now, env) => ({
      sql: `created_at < $2::timestamptz`,
      values: [iso(now - env.AUDIT_RETENTION)],
    }),
  },
];

export class RetentionJob {
  private stopping = false;

  constructor(
    private readonly db: Database,
    private readonly env: Env,
    private readonly log: (line: Record<string, unknown>) => void = () => {},
  ) {}

  /** Stops a run between two batches (shutdown). */
  stop(): void {
    this.stopping = true;
  }

  /**
   * One pass: every rule, batch after batch, until a batch finds less than a
   * full batch (or `maxBatchesPerRule`, so that one huge backlog is worked off
   * over several runs instead of in one long one). Skipped when another
   * instance holds the lock.
   */
  async run(opts: { maxBatchesPerRule?: number; now?: number } = {}): Promise<RetentionResult> {
    const started = Date.now();
    const deleted: RetentionCounts = {
      refreshTokens: 0,
      sessions: 0,
      accountTokens: 0,
      mfaChallenges: 0,
      mails: 0,
      securityEvents: 0,
    };
    const ran = await this.withLock(async (exec) => {
      const now = opts.now ?? Date.now();
      const size = this.env.RETENTION_BATCH_SIZE;
      for (const rule of RULES) {
        const w = rule.where(now, this.env);
        const text = `DELETE FROM ${rule.table} WHERE id IN (
                        SELECT id FROM ${rule.table} WHERE ${w.sql}
                        LIMIT $1::int FOR UPDATE SKIP LOCKED)`;
        const max = opts.maxBatchesPerRule ?? Infinity;
        for (let batch = 0; batch < max && !this.stopping; batch++) {
          const n = await exec(text, [size, ...w.values]);
          deleted[rule.key] += n;
          if (n < size) break;
          await sleep(BATCH_PAUSE_MS);
        }
      }
    });
    const result = { ran, deleted, ms: Date.now() - started };
    const total = Object.values(deleted).reduce((a, b) => a + b, 0);
    if (ran && total > 0) this.log({ event: 'retention', ...deleted, ms: result.ms });
    return result;
  }

  /**
   * On PostgreSQL, one connection of the pool for the whole run, holding
   * pg_try_advisory_lock: a second instance finds it taken and skips its
   * run; the lock dies with the connection if this process does. On PGlite
   * there is one process (the DATA_DIR lock), and statements go through Prisma.
   */
  private async withLock(work: (exec: Exec) => Promise<void>): Promise<boolean> {
    const pool = this.db.pool;
    if (!pool) {
      await work((text, values) => this.db.prisma.$executeRawUnsafe(text, ...values));
      return true;
    }
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        RETENTION_LOCK_KEY,
      ]);
      if (!got.rows[0]?.ok) return false;
      try {
        await work(async (text, values) => (await client.query(text, values)).rowCount ?? 0);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
      }
      return true;
    } catch (e) {
      broken = e as Error;
      throw e;
    } finally {
      // A connection that failed is dropped, not handed back (it may still hold the lock).
      client.release(broken);
    }
  }
}
