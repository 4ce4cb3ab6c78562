import { Injectable } from '@nestjs/common';
import type { Db } from '../database/db.js';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Role } from '../generated/prisma/enums.js';
import type { PublicUserRow } from './user.model.js';

/** A user with what a login checks (the hash and the version of the credentials). */
export interface UserCredentialsRow extends PublicUserRow {
  passwordHash: string;
  credentialsVersion: number;
}

/** All persistence of users goes through here. */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** A new user (in the caller's transaction); a taken email fails with Prisma's P2002. */
  create(
    db: Db,
    user: { email: string; name: string | null; passwordHash: string; role: Role },
  ): Promise<UserCredentialsRow> {
    return db.user.create({ data: user });
  }

  findByEmail(email: string): Promise<UserCredentialsRow | null> {
    return this.prisma.user.findUnique({ where: { email } });
  }

  findById(id: string, db: Db = this.prisma): Promise<UserCredentialsRow | null> {
    return db.user.findUnique({ where: { id } });
  }

  /** A page of users in id order (ids are UUIDv7, so roughly creation order). */
  page(first: number, after?: string) {
    return this.prisma.user.findMany({
      where: after ? { id: { gt: after } } : undefined,
      orderBy: { id: 'asc' },
      take: first,
    });
  }

  /**
   * Marks a change of what a login proves (password, disabled, second factor):
   * sessions checked against the old version are no longer opened
   * (SessionsRepository.open), and one-time tokens issued for it die.
   * Call it in the transaction of the change.
   */
  async bumpCredentials(db: Db, id: string): Promise<void> {
    await db.user.update({
      where: { id },
      data: { credentialsVersion: { increment: 1 } },
    });
  }

  /**
   * Sets a new password hash if the credentials are still the version that was
   * checked (compare-and-swap), and bumps the version. False when a concurrent
   * change won.
   */
  async replacePassword(
    db: Db,
    id: string,
    checkedVersion: number,
    passwordHash: string,
  ): Promise<boolean> {
    const r = await db.user.updateMany({
      where: { id, credentialsVersion: checkedVersion },
      data: { passwordHash, credentialsVersion: { increment: 1 } },
    });
    return r.count === 1;
  }

  /** A new hash of the same password (a changed BCRYPT_ROUNDS), if it is still the one checked. */
  async rehash(id: string, oldHash: string, newHash: string): Promise<void> {
    await this.prisma.user.updateMany({
      where: { id, passwordHash: oldHash },
      data: { passwordHash: newHash },
    });
  }
}
