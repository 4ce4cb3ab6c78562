import { Injectable } from '@nestjs/common';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import type { Role } from '../generated/prisma/enums.js';

/** All persistence of users goes through here. */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Registration: the user, its first session and that session's refresh
   * token in one atomic nested write (no user without a session, or the reverse).
   * A taken email fails with Prisma's P2002 from the unique index.
   */
  createWithSession(
    user: { email: string; name: string | null; passwordHash: string; role: Role },
    session: { userAgent: string | null; ip: string | null; tokenHash: string; expiresAt: Date },
  ) {
    return this.prisma.user.create({
      data: {
        ...user,
        sessions: {
          create: {
            userAgent: session.userAgent,
            ip: session.ip,
            expiresAt: session.expiresAt,
            refreshTokens: {
              create: { tokenHash: session.tokenHash, expiresAt: session.expiresAt },
            },
          },
        },
      },
      include: { sessions: true },
    });
  }

  findByEmail(email: string) {
    return this.prisma.user.findUnique({ where: { email } });
  }

  /** A page of users in id order (ids are UUIDv7, so roughly creation order). */
  page(first: number, after?: string) {
    return this.prisma.user.findMany({
      where: after ? { id: { gt: after } } : undefined,
      orderBy: { id: 'asc' },
      take: first,
    });
  }

  /** Changes the hash only if it is still the one that was checked (compare-and-swap). */
  async updatePasswordHash(id: string, expectedHash: string, newHash: string): Promise<boolean> {
    const r = await this.prisma.user.updateMany({
      where: { id, passwordHash: expectedHash },
      data: { passwordHash: newHash },
    });
    return r.count === 1;
  }

  /**
   * Increments users.credentials_version: call it in the same transaction as
   * any change of what a login proves (password, disabled, second factor), so
   * that a login that checked the old credentials cannot open a session.
   */
  async bumpCredentials(tx: Prisma.TransactionClient, userId: string): Promise<void> {
    await tx.user.update({
      where: { id: userId },
      data: { credentialsVersion: { increment: 1 } },
    });
  }
}
