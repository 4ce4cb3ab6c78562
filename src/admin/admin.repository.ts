import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client.js';
import type { Role } from '../generated/prisma/enums.js';
import type { PublicUserRow } from '../users/user.model.js';

const PUBLIC_USER = {
  id: true,
  email: true,
  name: true,
  role: true,
  createdAt: true,
  updatedAt: true,
  emailVerifiedAt: true,
  mfaEnabled: true,
  disabledAt: true,
} as const;

/**
 * The writes of the admin controls, each a compare-and-swap inside the
 * caller's transaction: it changes the row only if the value is not already
 * the wanted one, so two admins doing the same thing at once make one change
 * and one event.
 */
@Injectable()
export class AdminRepository {
  /** True if the role changed (false: no such user, or it already had that role). */
  async setRole(tx: Prisma.TransactionClient, userId: string, role: Role): Promise<boolean> {
    const r = await tx.user.updateMany({
      where: { id: userId, role: { not: role } },
      data: { role },
    });
    return r.count === 1;
  }

  /** True if the account changed (false: no such user, or it already was so). */
  async setDisabled(
    tx: Prisma.TransactionClient,
    userId: string,
    disabled: boolean,
  ): Promise<boolean> {
    const r = await tx.user.updateMany({
      where: { id: userId, disabledAt: disabled ? null : { not: null } },
      data: { disabledAt: disabled ? new Date() : null },
    });
    return r.count === 1;
  }

  /** The public columns of a user (no password hash), or null. */
  find(tx: Prisma.TransactionClient, userId: string): Promise<PublicUserRow | null> {
    return tx.user.findUnique({ where: { id: userId }, select: PUBLIC_USER });
  }
}
