import { Injectable } from '@nestjs/common';
import { isUuid } from '../common/rules.js';
import type { Principal } from '../auth/principal.js';
import { Session } from './session.model.js';
import { SessionsRepository } from './sessions.repository.js';

@Injectable()
export class SessionsService {
  constructor(private readonly sessions: SessionsRepository) {}

  async list(principal: Principal): Promise<Session[]> {
    const rows = await this.sessions.listLive(principal.user.id, new Date());
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
  async revoke(principal: Principal, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.sessions.revokeOwned(id, principal.user.id);
  }
}
