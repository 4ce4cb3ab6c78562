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
 * Every delete is `DELETE ... WHERE id IN (SELECT id ... ORDER BY key LIMIT n
 * FOR UPDATE SKIP LOCKED)` over an index that already exists, so it never
 * waits on a row a request holds, and each batch is its own short
 * transaction. The refresh tokens are found by their primary key: ids are
 * UUIDv7, so "issued more than REFRESH_TOKEN_TTL ago" is a range of the
 * primary key and no index on expires_at is needed (it would be one more index
 * written by every rotation); expires_at is checked too, so a changed TTL
 * deletes nothing early.
 *
 * Two things keep it out of the requests' way while it works off a backlog:
 * - Each batch starts where the last one ended (`key >= last key deleted`),
 *   not at the start of the index: until VACUUM has run, the index still
 *   holds an entry for every row deleted so far, and a scan from the start
 *   would step over all of them again on every batch.
 * - After each batch it pauses long enough that it keeps the database busy
 *   at most RETENTION_DUTY_CYCLE of the time (0.05: a batch of 30 ms is
 *   followed by a pause of 570 ms), and never less than 10 ms. What it
 *   bounds in the end is the WAL the deletions write: at 0.1 on a fast
 *   machine (6,458 rows/s) PostgreSQL checkpointed every 17 s and a commit
 *   beside it waited 216 ms once; at 0.05 (3,410 rows/s) nothing beside it
 *   slowed (docs/benchmark.md, round 9).
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

/** The shortest pause between two batches (PGlite runs one statement at a time: requests go in between). */
const MIN_PAUSE_MS = 10;

/** One batch: rows deleted, and the largest key among them (as text; null when none). */
interface BatchRow {
  n: number;
  last: string | null;
}
type Exec = (text: string, values: unknown[]) => Promise<{ n: number; last: string | null }>;

interface Rule {
  key: keyof RetentionCounts;
  table: string;
  /** The indexed column batches are taken in the order of, and its type. */
  order: { column: string; type: 'uuid' | 'timestamptz' };
  /** The WHERE of a batch's selection: its values are $2, $3… ($1 is the batch size). */
  where: (now: number, env: Env) => { sql: string; values: unknown[] };
}

export interface RetentionJobOptions {
  log?: (line: Record<string, unknown>) => void;
  /** Replaced in unit tests only. */
  sleep?: (ms: number) => Promise<unknown>;
  clock?: () => number;
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
    order: { column: 'id', type: 'uuid' },
    where: (now, env) => ({
      sql: `id < $2::uuid AND expires_at < $3::timestamptz`,
      values: [uuidV7Floor(now - env.REFRESH_TOKEN_TTL), iso(now)],
    }),
  },
  {
    key: 'sessions',
    table: 'sessions',
    order: { column: 'expires_at', type: 'timestamptz' },
    where: (now, env) => ({
      sql: `expires_at < $2::timestamptz`,
      values: [iso(now - env.SESSION_RETENTION)],
    }),
  },
  {
    key: 'accountTokens',
    table: 'account_tokens',
    order: { column: 'expires_at', type: 'timestamptz' },
    where: (now) => ({ sql: `expires_at < $2::timestamptz`, values: [iso(now)] }),
  },
  {
    key: 'mfaChallenges',
    table: 'mfa_challenges',
    order: { column: 'expires_at', type: 'timestamptz' },
    where: (now) => ({ sql: `expires_at < $2::timestamptz`, values: [iso(now)] }),
  },
  {
    key: 'mails',
    table: 'mail_outbox',
    order: { column: 'created_at', type: 'timestamptz' },
    where: (now, env) => ({
      sql: `created_at < $2::timestamptz AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`,
      values: [iso(now - env.MAIL_RETENTION)],
    }),
  },
  {
    key: 'securityEvents',
    table: 'security_events',
    order: { column: 'created_at', type: 'timestamptz' },
    where: (now, env) => ({
      sql: `created_at < $2::timestamptz`,
      values: [iso(now - env.AUDIT_RETENTION)],
    }),
  },
];

export class RetentionJob {
  private stopping = false;
  private readonly log: (line: Record<string, unknown>) => void;
  private readonly sleep: (ms: number) => Promise<unknown>;
  private readonly clock: () => number;

  constructor(
    private readonly db: Database,
    private readonly env: Env,
    opts: RetentionJobOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.sleep = opts.sleep ?? sleep;
    this.clock = opts.clock ?? (() => performance.now());
  }

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
      // Pause per ms of work: a duty cycle d leaves (1 - d) / d of idle time per unit of work.
      const pausePerMs = (1 - this.env.RETENTION_DUTY_CYCLE) / this.env.RETENTION_DUTY_CYCLE;
      for (const rule of RULES) {
        const w = rule.where(now, this.env);
        const { column, type } = rule.order;
        const from = `$${w.values.length + 2}`;
        // PostgreSQL has no max(uuid); a UUID's text sorts as its bytes do.
        const maxKey = type === 'uuid' ? 'max(k::text)' : 'max(k)::text';
        const select = (continued: boolean) =>
          `WITH d AS (
             DELETE FROM ${rule.table} WHERE id IN (
               SELECT id FROM ${rule.table}
               WHERE ${w.sql}${continued ? ` AND ${column} >= ${from}::${type}` : ''}
               ORDER BY ${column} LIMIT $1::int FOR UPDATE SKIP LOCKED)
             RETURNING ${column} AS k)
           SELECT count(*)::int AS n, ${maxKey} AS last FROM d`;
        const first = select(false);
        const next = select(true);
        const max = opts.maxBatchesPerRule ?? Infinity;
        let last: string | null = null;
        for (let batch = 0; batch < max && !this.stopping; batch++) {
          const t0 = this.clock();
          const r = await exec(last === null ? first : next, [
            size,
            ...w.values,
            ...(last === null ? [] : [last]),
          ]);
          const took = this.clock() - t0;
          deleted[rule.key] += r.n;
          if (r.n < size) break;
          last = r.last;
          await this.sleep(Math.max(MIN_PAUSE_MS, took * pausePerMs));
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
      await work(async (text, values) => {
        const [row] = await this.db.prisma.$queryRawUnsafe<BatchRow[]>(text, ...values);
        return { n: row?.n ?? 0, last: row?.last ?? null };
      });
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
        await work(async (text, values) => {
          const [row] = (await client.query<BatchRow>(text, values)).rows;
          return { n: row?.n ?? 0, last: row?.last ?? null };
        });
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
