import { Inject, Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { v7 as uuidv7 } from 'uuid';
import { DATABASE } from '../database/database.module.js';
import type { Db } from '../database/db.js';
import type { Database } from '../database/prisma.js';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import type { SecurityEventType } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { PUBLIC_USER_COLUMNS, type PublicUserRow } from '../users/user.model.js';

/**
 * "The session is live": not revoked and not expired. The one definition,
 * in the three forms the code needs, side by side so that they change
 * together: SQL for the raw statements (alias `s`, the time as a parameter),
 * a Prisma filter, and a check of a session row already read.
 */
const liveSql = (now: string) => `s.revoked_at IS NULL AND s.expires_at > ${now}`;
export function liveSession(now: Date): Prisma.SessionWhereInput {
  return { revokedAt: null, expiresAt: { gt: now } };
}
export function isSessionLive(s: { revokedAt: Date | null; expiresAt: Date }, now: Date): boolean {
  return !s.revokedAt && s.expiresAt > now;
}

export type RevokeReason =
  | 'logout'
  | 'logout_all'
  | 'reuse'
  | 'revoked'
  | 'password_change'
  | 'password_reset'
  | 'mfa_enabled'
  | 'disabled'
  | 'session_limit';

/** A session to open with its first refresh token (SessionIssuer). */
export interface NewSession {
  userId: string;
  /** The users.credentials_version that was checked: no session if it changed since. */
  credentialsVersion: number;
  sessionId: string;
  tokenHash: string;
  expiresAt: Date;
  amr: string[];
  client: ClientInfo;
  /** The event recorded with it. */
  event: Extract<SecurityEventType, 'LOGIN' | 'REGISTER'>;
  /** Live sessions a user may have: the least recently used beyond it are revoked. */
  maxLive: number;
  now: Date;
}

/** A refresh-token row with its session and the session's user, from one JOIN. */
export interface RefreshTokenRow {
  id: string;
  sessionId: string;
  tokenHash: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  session: { id: string; userId: string; revokedAt: Date | null; expiresAt: Date; amr: string[] };
  /** The session's user, public columns only. */
  user: PublicUserRow;
}

/** What the rotation of a parent token left: the child it was replaced by. */
export interface Rotation {
  /** When the parent was rotated: the grace window is measured from here. */
  rotatedAt: Date;
  /** SHA-256 of the user agent of the client that rotated it. */
  rotatedByClient: string | null;
  childHash: string;
  childRotatedAt: Date | null;
  childExpiresAt: Date;
  sessionLive: boolean;
}

interface FlatRefreshTokenRow extends Omit<PublicUserRow, 'id'> {
  id: string;
  sessionId: string;
  tokenHash: string;
  tokenExpiresAt: Date;
  rotatedAt: Date | null;
  userId: string;
  sessionRevokedAt: Date | null;
  sessionExpiresAt: Date;
  amr: string[];
}

/** The part of a `pg.Pool` used here. */
interface PgQueryable {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

/** A guarded call's question: is this session of this user live? */
interface SessionCheck {
  sessionId: string;
  userId: string;
}

/**
 * How many session checks one statement answers at most: far above what
 * one turn of the event loop gathers (one per request read in it), low
 * enough that the statement's arrays stay small.
 */
const SESSION_CHECK_BATCH_MAX = 256;

/** All persistence of sessions and their refresh-token rows goes through here. */
@Injectable()
export class SessionsRepository {
  private readonly pool: PgQueryable | null;
  /** The session checks of one turn of the event loop, one statement (findUserOfLiveSession). */
  private readonly sessionChecks = new DataLoader<SessionCheck, PublicUserRow | null>(
    (checks) => this.usersOfLiveSessions(checks),
    {
      cache: false,
      maxBatchSize: SESSION_CHECK_BATCH_MAX,
      // After the poll phase: every request read in this turn has asked by then.
      batchScheduleFn: (run) => setImmediate(run),
    },
  );

  constructor(
    private readonly prisma: PrismaClient,
    @Inject(DATABASE) db: Database,
  ) {
    this.pool = db.pool;
  }

  /**
   * The hot-path statements (`me`'s session check, the refresh lookup and
   * rotation). On PostgreSQL they go to the driver's pool directly, as named
   * prepared statements (PostgreSQL plans them once per connection); on
   * PGlite through Prisma. Same pool, same timeouts, same SQL.
   */
  private async hot<R>(name: string, text: string, values: unknown[]): Promise<R[]> {
    if (this.pool) {
      // Dates as ISO strings, the same instant: cheaper than pg's own Date
      // formatting (local time and offset, by hand) on every call.
      const params = values.map((v) => (v instanceof Date ? v.toISOString() : v));
      return (await this.pool.query<R>({ name, text, values: params })).rows;
    }
    return this.prisma.$queryRawUnsafe<R[]>(text, ...values);
  }

  /**
   * Opens a session with its first refresh token and records its event, in
   * ONE statement, and only if the user's credentials are still the version
   * that was checked and the account is not disabled. The user row is read
   * FOR SHARE: a concurrent password change, reset or disable (which updates
   * that row first) either commits before (the version no longer matches: no
   * session) or waits for this statement and then revokes the new session
   * with the others. Live sessions beyond `maxLive` (least recently used
   * first) are revoked in the same statement. False when nothing was opened.
   */
  async open(db: Db, s: NewSession): Promise<boolean> {
    const rows = await db.$queryRawUnsafe<{ created: number }[]>(
      `WITH checked AS (
         SELECT id FROM users
          WHERE id = $1::uuid AND credentials_version = $2::int AND disabled_at IS NULL
          FOR SHARE
       ), opened AS (
         INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at, amr)
         SELECT $3::uuid, checked.id, $4, $5, $6::timestamptz, $6::timestamptz, $7::timestamptz,
                $8::text[]
           FROM checked
         RETURNING id, user_id
       ), token AS (
         INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
         SELECT $9::uuid, opened.id, $10, $6::timestamptz, $7::timestamptz FROM opened
         RETURNING id
       ), event AS (
         INSERT INTO security_events (id, type, user_id, session_id, ip, user_agent, request_id, created_at)
         SELECT $11::uuid, $12::"SecurityEventType", opened.user_id, opened.id, $5, $4, $13,
                $6::timestamptz
           FROM opened
         RETURNING id
       ), capped AS (
         UPDATE sessions SET revoked_at = $6::timestamptz, revoked_reason = 'session_limit'
          WHERE id IN (
            SELECT s.id FROM sessions s
             WHERE s.user_id = $1::uuid AND ${liveSql('$6::timestamptz')}
             ORDER BY s.last_used_at DESC, s.id DESC
             OFFSET $14::int
          ) AND EXISTS (SELECT 1 FROM opened)
         RETURNING id
       )
       SELECT (SELECT count(*) FROM token)::int AS created,
              (SELECT count(*) FROM event)::int AS events,
              (SELECT count(*) FROM capped)::int AS capped`,
      s.userId,
      s.credentialsVersion,
      s.sessionId,
      s.client.userAgent,
      s.client.ip,
      s.now,
      s.expiresAt,
      s.amr,
      uuidv7(),
      s.tokenHash,
      uuidv7(),
      s.event,
      s.client.requestId,
      // The existing sessions kept: one place is for the new one.
      Math.max(0, s.maxLive - 1),
    );
    return rows[0]?.created === 1;
  }

  /**
   * A refresh-token row with its session and the session's user (public
   * columns only), in one statement.
   */
  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null> {
    const rows = await this.hot<FlatRefreshTokenRow>(
      'auth_find_refresh_token',
      `SELECT rt.id, rt.session_id AS "sessionId", rt.token_hash AS "tokenHash",
              rt.expires_at AS "tokenExpiresAt", rt.rotated_at AS "rotatedAt",
              s.user_id AS "userId", s.revoked_at AS "sessionRevokedAt",
              s.expires_at AS "sessionExpiresAt", s.amr,
              ${PUBLIC_USER_COLUMNS}
       FROM refresh_tokens rt
       JOIN sessions s ON s.id = rt.session_id
       JOIN users u ON u.id = s.user_id
       WHERE rt.token_hash = $1`,
      [tokenHash],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      sessionId: r.sessionId,
      tokenHash: r.tokenHash,
      expiresAt: r.tokenExpiresAt,
      rotatedAt: r.rotatedAt,
      session: {
        id: r.sessionId,
        userId: r.userId,
        revokedAt: r.sessionRevokedAt,
        expiresAt: r.sessionExpiresAt,
        amr: r.amr,
      },
      user: {
        id: r.userId,
        email: r.email,
        name: r.name,
        role: r.role,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        emailVerifiedAt: r.emailVerifiedAt,
        mfaEnabled: r.mfaEnabled,
        disabledAt: r.disabledAt,
      },
    };
  }

  /**
   * Rotation as ONE statement (so one round trip, and atomic): a
   * compare-and-swap marks the parent rotated only if nobody did it first,
   * it has not expired and its session is live; only then is the child row
   * inserted and the session's expiry slid. Under concurrency PostgreSQL
   * re-checks the WHERE of a blocked UPDATE after the winner commits, so
   * exactly one caller swaps. Returns false when the swap lost: the caller
   * then treats the parent as already rotated.
   */
  async rotate(args: {
    parentId: string;
    childId: string;
    childHash: string;
    expiresAt: Date;
    now: Date;
    /** SHA-256 of the caller's user agent (see Rotation.rotatedByClient). */
    client: string | null;
  }): Promise<boolean> {
    const rows = await this.hot<{ rotated: number }>(
      'auth_rotate_refresh_token',
      `WITH cas AS (
         UPDATE refresh_tokens rt
            SET rotated_at = $1::timestamptz, replaced_by_id = $2::uuid, rotated_by_client = $6
          WHERE rt.id = $3::uuid
            AND rt.rotated_at IS NULL
            AND rt.expires_at > $1::timestamptz
            AND EXISTS (SELECT 1 FROM sessions s
                         WHERE s.id = rt.session_id AND ${liveSql('$1::timestamptz')})
         RETURNING rt.session_id
       ), child AS (
         INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
         SELECT $2::uuid, cas.session_id, $4::text, $1::timestamptz, $5::timestamptz
           FROM cas
         RETURNING id
       ), slid AS (
         UPDATE sessions SET last_used_at = $1::timestamptz, expires_at = $5::timestamptz
          WHERE id IN (SELECT session_id FROM cas)
         RETURNING id
       )
       SELECT (SELECT count(*) FROM child)::int AS rotated`,
      [args.now, args.childId, args.parentId, args.childHash, args.expiresAt, args.client],
    );
    return rows[0]?.rotated === 1;
  }

  /** How a rotated token was rotated, and the state of the child it was replaced by. */
  async findRotation(parentId: string, now: Date): Promise<Rotation | null> {
    const rows = await this.hot<Rotation>(
      'auth_find_rotation',
      `SELECT p.rotated_at AS "rotatedAt", p.rotated_by_client AS "rotatedByClient",
              c.token_hash AS "childHash", c.rotated_at AS "childRotatedAt",
              c.expires_at AS "childExpiresAt",
              (${liveSql('$2::timestamptz')}) AS "sessionLive"
         FROM refresh_tokens p
         JOIN refresh_tokens c ON c.id = p.replaced_by_id
         JOIN sessions s ON s.id = p.session_id
        WHERE p.id = $1::uuid AND p.rotated_at IS NOT NULL`,
      [parentId, now],
    );
    return rows[0] ?? null;
  }

  /** Revokes a live session; false if it was already revoked or does not exist. */
  async revoke(db: Db, sessionId: string, reason: RevokeReason): Promise<boolean> {
    const r = await db.session.updateMany({
      where: { id: sessionId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    return r.count === 1;
  }

  /** Revokes one of the user's own live sessions; false for any other id. */
  async revokeOwned(db: Db, sessionId: string, userId: string): Promise<boolean> {
    const now = new Date();
    const r = await db.session.updateMany({
      where: { id: sessionId, userId, ...liveSession(now) },
      data: { revokedAt: now, revokedReason: 'revoked' },
    });
    return r.count === 1;
  }

  /** Revokes every live session of a user (but one, if named); the number revoked. */
  async revokeAllOfUser(
    userId: string,
    reason: RevokeReason,
    exceptSessionId?: string,
    db: Db = this.prisma,
  ): Promise<number> {
    const r = await db.session.updateMany({
      where: {
        userId,
        revokedAt: null,
        ...(exceptSessionId ? { id: { not: exceptSessionId } } : {}),
      },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    return r.count;
  }

  /** The user's live sessions, most recently used first, at most `limit`. */
  listLive(userId: string, now: Date, limit: number) {
    return this.prisma.session.findMany({
      where: { userId, ...liveSession(now) },
      orderBy: [{ lastUsedAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /**
   * The hot path of every guarded call: the user, if the session named by the
   * access token is still live. The checks asked for in one turn of the event
   * loop (the requests read together) are answered by one statement
   * (DataLoader, without its cache: every check reads the database when it is
   * asked, so a logout or revocation committed before it is always seen).
   */
  findUserOfLiveSession(userId: string, sessionId: string): Promise<PublicUserRow | null> {
    return this.sessionChecks.load({ sessionId, userId });
  }

  /**
   * Two primary-key lookups per check (the session by its id, its user by
   * the session's user_id), only the public columns (no password hash). The
   * user id a token names is compared here, not in SQL: given it there,
   * PostgreSQL may read the session through the user's sessions
   * (sessions_user_id_idx, every session of that user) instead of its key.
   */
  private async usersOfLiveSessions(
    checks: readonly SessionCheck[],
  ): Promise<(PublicUserRow | null)[]> {
    const rows = await this.hot<PublicUserRow & { sid: string }>(
      'auth_users_of_live_sessions',
      `SELECT s.id AS sid, u.id, ${PUBLIC_USER_COLUMNS}
       FROM unnest($1::uuid[]) AS c(sid)
       JOIN sessions s ON s.id = c.sid
       JOIN users u ON u.id = s.user_id
       WHERE ${liveSql('$2::timestamptz')}`,
      [checks.map((c) => c.sessionId), new Date()],
    );
    const live = new Map<string, PublicUserRow>();
    for (const { sid, ...user } of rows) live.set(sid, user);
    return checks.map((c) => {
      const user = live.get(c.sessionId);
      return user && user.id === c.userId ? user : null;
    });
  }

  /** A live session by id, with its user id. */
  findLiveSession(sessionId: string, now: Date) {
    return this.prisma.session.findFirst({
      where: { id: sessionId, ...liveSession(now) },
      select: { id: true, userId: true },
    });
  }
}
