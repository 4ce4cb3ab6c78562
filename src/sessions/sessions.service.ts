import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppConfig } from '../config/app-config.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { isUuid } from '../common/rules.js';
import type { Principal } from '../auth/principal.js';
import { Session } from './session.model.js';
import { SessionsRepository } from './sessions.repository.js';

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
}
