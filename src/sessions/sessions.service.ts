import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppConfig } from '../config/app-config.js';
import type { Db } from '../database/db.js';
import { Transactions } from '../database/transactions.js';
import type { SecurityEventType } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { isUuid } from '../common/rules.js';
import type { Principal } from '../auth/principal.js';
import { Session } from './session.model.js';
import { SessionsRepository, type RevokeReason } from './sessions.repository.js';

/** A change of what a login proves, and the sessions it ends (SessionsService.endSessionsAfter). */
export interface CredentialsChange {
  userId: string;
  reason: RevokeReason;
  event: SecurityEventType;
  /** The caller's own session: kept, and named by the event. Absent: every session ends. */
  keepSessionId?: string;
  client: ClientInfo;
}

@Injectable()
export class SessionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  async list(principal: Principal): Promise<Session[]> {
    // At most AUTH_MAX_SESSIONS are live (a login beyond revokes the least recently used).
    const rows = await this.sessions.listLive(
      principal.user.id,
      new Date(),
      this.config.env.AUTH_MAX_SESSIONS,
    );
    return rows.map((r) => {
      const s = new Session();
      s.id = r.id;
      s.userAgent = r.userAgent;
      s.ip = r.ip;
      s.createdAt = r.createdAt;
      s.lastUsedAt = r.lastUsedAt;
      s.expiresAt = r.expiresAt;
      s.current = r.id === principal.sessionId;
      return s;
    });
  }

  /** True when one of the caller's own live sessions was revoked; false for any other id. */
  async revoke(principal: Principal, id: string, client: ClientInfo): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.transactions.run(async (tx) => {
      if (!(await this.sessions.revokeOwned(tx, id, principal.user.id))) return false;
      await this.audit.record(tx, {
        type: 'SESSION_REVOKED',
        userId: principal.user.id,
        sessionId: id,
        client,
      });
      return true;
    });
  }

  /**
   * The end of every change of what a login proves (a new password, a reset,
   * a second factor turned on), inside the change's transaction `tx`: every
   * live session of the user but the caller's ends with `reason`, and the
   * event is recorded. The number of sessions ended, for the caller's log
   * line (written after the commit).
   */
  async endSessionsAfter(tx: Db, c: CredentialsChange): Promise<number> {
    const n = await this.sessions.revokeAllOfUser(c.userId, c.reason, c.keepSessionId, tx);
    await this.audit.record(tx, {
      type: c.event,
      userId: c.userId,
      sessionId: c.keepSessionId ?? null,
      client: c.client,
    });
    return n;
  }
}
