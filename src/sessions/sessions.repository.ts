import { Injectable } from '@nestjs/common';
import { PrismaClient } from '../generated/prisma/client.js';

export interface NewSession {
  userId: string;
  userAgent: string | null;
  ip: string | null;
  tokenHash: string;
  expiresAt: Date;
}

export type RevokeReason = 'logout' | 'logout_all' | 'reuse' | 'revoked' | 'password_change';

/** All persistence of sessions and their refresh-token rows goes through here. */
@Injectable()
export class SessionsRepository {
  constructor(private readonly prisma: PrismaClient) {}

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

  findRefreshToken(tokenHash: string) {
    return this.prisma.refreshToken.findUnique({
      where: { tokenHash },
      include: { session: true },
    });
  }

  /**
   * Rotation in one transaction: a compare-and-swap marks the parent rotated
   * only if nobody did it first (and its session is still live), then the
   * child row is inserted and the session's expiry slides. Returns false when
   * the swap lost: the caller then treats the parent as already rotated.
   */
  async rotate(args: {
    parentId: string;
    sessionId: string;
    childId: string;
    childHash: string;
    expiresAt: Date;
    now: Date;
  }): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const swapped = await tx.refreshToken.updateMany({
        where: {
          id: args.parentId,
          rotatedAt: null,
          expiresAt: { gt: args.now },
          session: { revokedAt: null },
        },
        data: { rotatedAt: args.now, replacedById: args.childId },
      });
      if (swapped.count !== 1) return false;
      await tx.refreshToken.create({
        data: {
          id: args.childId,
          sessionId: args.sessionId,
          tokenHash: args.childHash,
          expiresAt: args.expiresAt,
          // The rotation time, on the app's clock (the grace window is measured from it).
          createdAt: args.now,
        },
      });
      await tx.session.update({
        where: { id: args.sessionId },
        data: { lastUsedAt: args.now, expiresAt: args.expiresAt },
      });
      return true;
    });
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

  async revokeAllOfUser(
    userId: string,
    reason: RevokeReason,
    exceptSessionId?: string,
  ): Promise<number> {
    const r = await this.prisma.session.updateMany({
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
   * only the public columns (no password hash). Raw SQL: the Prisma query
   * builder cost more CPU than the query itself here.
   */
  async findUserOfLiveSession(userId: string, sessionId: string, now: Date) {
    const rows = await this.prisma.$queryRaw<
      {
        id: string;
        email: string;
        name: string | null;
        role: 'USER' | 'ADMIN';
        createdAt: Date;
        updatedAt: Date;
      }[]
    >`
      SELECT u.id, u.email, u.name, u.role::text AS role,
             u.created_at AS "createdAt", u.updated_at AS "updatedAt"
      FROM users u JOIN sessions s ON s.user_id = u.id
      WHERE s.id = ${sessionId}::uuid AND u.id = ${userId}::uuid
        AND s.revoked_at IS NULL AND s.expires_at > ${now}`;
    return rows[0] ?? null;
  }

  findLiveSession(sessionId: string, now: Date) {
    return this.prisma.session.findFirst({
      where: { id: sessionId, revokedAt: null, expiresAt: { gt: now } },
    });
  }
}
