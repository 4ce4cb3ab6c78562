import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '../database/database.module.js';
import type { Database } from '../database/prisma.js';
import { PUBLIC_USER_COLUMNS, type PublicUserRow } from '../users/user.model.js';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export interface NewSession {
  userId: string;
  userAgent: string | null;
  ip: string | null;
  tokenHash: string;
  expiresAt: Date;
}

/** The columns of a refresh-token row. */
interface RefreshTokenColumns {
  id: string;
  sessionId: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  rotatedAt: Date | null;
  replacedById: string | null;
}

/** What the refresh-token JOIN returns, before it is nested. */
interface FlatRefreshTokenRow
  extends Omit<RefreshTokenColumns, 'createdAt' | 'expiresAt'>, Omit<PublicUserRow, 'id'> {
  tokenCreatedAt: Date;
  tokenExpiresAt: Date;
  userId: string;
  sessionRevokedAt: Date | null;
  sessionExpiresAt: Date;
}

export interface RefreshTokenRow extends RefreshTokenColumns {
  session: { id: string; userId: string; revokedAt: Date | null; expiresAt: Date };
  /** The session's user, public columns only. */
  user: PublicUserRow;
}

/** The part of a `pg.Pool` used here. */
interface PgQueryable {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

export type RevokeReason =
  'logout' | 'logout_all' | 'reuse' | 'revoked' | 'password_change' | 'disabled';

/** All persistence of sessions and their refresh-token rows goes through here. */
@Injectable()
export class SessionsRepository {
  private readonly pool: PgQueryable | null;

  constructor(
    private readonly prisma: PrismaClient,
    @Inject(DATABASE) db: Database,
  ) {
    this.pool = db.pool;
  }

  /**
   * The hot-path statements (`me`'s session check, the refresh lookup and
   * rotation). On PostgreSQL they go to the driver's pool directly, as named
   * prepared statements: through Prisma's $queryRaw (request building, query
   * plan interpretation, result (de)serialisation, an unnamed statement that
   * PostgreSQL parses and plans every time) the same query cost more CPU
   * than everything else on the `me` path. Same pool, same timeouts, same
   * SQL; on PGlite they go through Prisma.
   */
  private async hot<R>(name: string, text: string, values: unknown[]): Promise<R[]> {
    if (this.pool) {
      // Dates as ISO strings: pg's own Date formatting (local time and
      // offset, by hand) was 1 % of `me`'s CPU. Same instant either way.
      const params = values.map((v) => (v instanceof Date ? v.toISOString() : v));
      return (await this.pool.query<R>({ name, text, values: params })).rows;
    }
    return this.prisma.$queryRawUnsafe<R[]>(text, ...values);
  }

  /** A new session with its first refresh token, in one atomic nested write. */
  create(s: NewSession) {
    return this.prisma.session.create({
      data: {
        userId: s.userId,
        userAgent: s.userAgent,
        ip: s.ip,
        expiresAt: s.expiresAt,
        refreshTokens: { create: { tokenHash: s.tokenHash, expiresAt: s.expiresAt } },
      },
    });
  }

  /**
   * A refresh-token row with its session and the session's user (public
   * columns only), in one statement: Prisma's `include` would take two, and
   * the refresh path would then need a third for the user.
   */
  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null> {
    const rows = await this.hot<FlatRefreshTokenRow>(
      'auth_find_refresh_token',
      `SELECT rt.id, rt.session_id AS "sessionId", rt.token_hash AS "tokenHash",
              rt.created_at AS "tokenCreatedAt", rt.expires_at AS "tokenExpiresAt",
              rt.rotated_at AS "rotatedAt", rt.replaced_by_id AS "replacedById",
              s.user_id AS "userId", s.revoked_at AS "sessionRevokedAt",
              s.expires_at AS "sessionExpiresAt",
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
      createdAt: r.tokenCreatedAt,
      expiresAt: r.tokenExpiresAt,
      rotatedAt: r.rotatedAt,
      replacedById: r.replacedById,
      session: {
        id: r.sessionId,
        userId: r.userId,
        revokedAt: r.sessionRevokedAt,
        expiresAt: r.sessionExpiresAt,
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
    sessionId: string;
    childId: string;
    childHash: string;
    expiresAt: Date;
    now: Date;
  }): Promise<boolean> {
    const rows = await this.hot<{ rotated: number }>(
      'auth_rotate_refresh_token',
      `WITH cas AS (
         UPDATE refresh_tokens rt
            SET rotated_at = $1::timestamptz, replaced_by_id = $2::uuid
          WHERE rt.id = $3::uuid
            AND rt.rotated_at IS NULL
            AND rt.expires_at > $1::timestamptz
            AND EXISTS (SELECT 1 FROM sessions s
                         WHERE s.id = rt.session_id AND s.revoked_at IS NULL)
         RETURNING rt.session_id
       ), child AS (
         -- created_at is the rotation time on the app's clock: the grace window is measured from it.
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
      [args.now, args.childId, args.parentId, args.childHash, args.expiresAt],
    );
    return rows[0]?.rotated === 1;
  }

  /** Revokes a live session; false if it was already revoked or does not exist. */
  async revoke(sessionId: string, reason: RevokeReason): Promise<boolean> {
    const r = await this.prisma.session.updateMany({
      where: { id: sessionId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    return r.count === 1;
  }

  /** Revokes one of the user's own live sessions; false for any other id. */
  async revokeOwned(sessionId: string, userId: string): Promise<boolean> {
    const r = await this.prisma.session.updateMany({
      where: { id: sessionId, userId, revokedAt: null, expiresAt: { gt: new Date() } },
      data: { revokedAt: new Date(), revokedReason: 'revoked' },
    });
    return r.count === 1;
  }

  /** Every live session of the user (but one); in `tx` when given. */
  async revokeAllOfUser(
    userId: string,
    reason: RevokeReason,
    exceptSessionId?: string,
    tx?: Prisma.TransactionClient,
  ): Promise<number> {
    const r = await (tx ?? this.prisma).session.updateMany({
      where: {
        userId,
        revokedAt: null,
        ...(exceptSessionId ? { id: { not: exceptSessionId } } : {}),
      },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    return r.count;
  }

  listLive(userId: string, now: Date) {
    return this.prisma.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: now } },
      orderBy: { lastUsedAt: 'desc' },
    });
  }

  /**
   * The hot path of every guarded call: the user, if the session named by the
   * access token is still live. One statement, one JOIN on two primary keys,
   * only the public columns (no password hash). Raw SQL, and on PostgreSQL a
   * named prepared statement on the driver's pool (see `hot`).
   */
  async findUserOfLiveSession(
    userId: string,
    sessionId: string,
    now: Date,
  ): Promise<PublicUserRow | null> {
    const rows = await this.hot<PublicUserRow>(
      'auth_user_of_live_session',
      `SELECT u.id, ${PUBLIC_USER_COLUMNS}
       FROM users u JOIN sessions s ON s.user_id = u.id
       WHERE s.id = $1::uuid AND u.id = $2::uuid
         AND s.revoked_at IS NULL AND s.expires_at > $3::timestamptz`,
      [sessionId, userId, now],
    );
    return rows[0] ?? null;
  }

  findLiveSession(sessionId: string, now: Date) {
    return this.prisma.session.findFirst({
      where: { id: sessionId, revokedAt: null, expiresAt: { gt: now } },
    });
  }
}
