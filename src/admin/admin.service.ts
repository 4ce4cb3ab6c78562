import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../common/errors.js';
import { normaliseEmail } from '../common/rules.js';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import { Role, SecurityEventType } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { toUser, type User } from '../users/user.model.js';
import { UsersRepository } from '../users/users.repository.js';
import { AdminRepository } from './admin.repository.js';

/**
 * setUserRole and setUserDisabled (ADMIN only; the resolver's guards check
 * the role). Each change and its security event commit in one transaction;
 * asking for what already is changes nothing and records nothing.
 */
@Injectable()
export class AdminService {
  private readonly logger = new Logger('Admin');

  constructor(
    private readonly prisma: PrismaClient,
    private readonly admin: AdminRepository,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly audit: AuditRepository,
  ) {}

  async findByEmail(email: string): Promise<User | null> {
    const row = await this.users.findByEmail(normaliseEmail(email));
    return row ? toUser(row) : null;
  }

  async setRole(
    principal: Principal,
    args: { userId: string; role: Role },
    client: ClientInfo,
  ): Promise<User> {
    const userId = args.userId.toLowerCase(); // as PostgreSQL compares uuids
    if (userId === principal.user.id && args.role !== Role.ADMIN) {
      throw AppError.badInput([{ field: 'userId', message: 'you cannot demote yourself' }]);
    }
    return this.change(principal, userId, client, async (tx) => {
      if (!(await this.admin.setRole(tx, userId, args.role))) return null;
      return SecurityEventType.ROLE_CHANGED;
    });
  }

  async setDisabled(
    principal: Principal,
    args: { userId: string; disabled: boolean },
    client: ClientInfo,
  ): Promise<User> {
    const userId = args.userId.toLowerCase();
    if (userId === principal.user.id && args.disabled) {
      throw AppError.badInput([{ field: 'userId', message: 'you cannot disable yourself' }]);
    }
    return this.change(principal, userId, client, async (tx) => {
      if (!(await this.admin.setDisabled(tx, userId, args.disabled))) return null;
      if (!args.disabled) return SecurityEventType.USER_ENABLED;
      // A login that checked the password before this commit cannot open a
      // session after it (SessionIssuer compares the version), and every open
      // session ends now: the access tokens die on their next call.
      await this.users.bumpCredentials(tx, userId);
      await this.sessions.revokeAllOfUser(userId, 'disabled', undefined, tx);
      return SecurityEventType.USER_DISABLED;
    });
  }

  /**
   * One transaction: the change (which says which event it was, or null when
   * nothing changed), its event, and the user as it is after it. An unknown
   * userId is BAD_USER_INPUT naming `userId`.
   */
  private async change(
    principal: Principal,
    userId: string,
    client: ClientInfo,
    apply: (tx: Prisma.TransactionClient) => Promise<SecurityEventType | null>,
  ): Promise<User> {
    const { user, event } = await this.prisma.$transaction(async (tx) => {
      const event = await apply(tx);
      if (event) {
        await this.audit.record(tx, {
          type: event,
          userId,
          actorId: principal.user.id,
          sessionId: principal.sessionId,
          client,
        });
      }
      return { user: await this.admin.find(tx, userId), event };
    });
    if (!user) throw AppError.badInput([{ field: 'userId', message: 'no user has this id' }]);
    if (event) {
      this.logger.log({
        event: event.toLowerCase(),
        reqId: client.requestId,
        userId,
        actorId: principal.user.id,
        role: user.role,
      });
    }
    return toUser(user);
  }
}
