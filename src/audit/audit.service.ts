import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import type { PageArgs } from '../common/page.args.js';
import { PAGE_DEFAULT } from '../common/rules.js';
import type { AuditEventsArgs } from './audit.args.js';
import { AuditRepository, type SecurityEventRow } from './audit.repository.js';
import { SecurityEvent } from './security-event.model.js';

/** The two listings of the security log: the caller's own, and everyone's (ADMIN). */
@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  async own(principal: Principal, page: PageArgs): Promise<SecurityEvent[]> {
    const rows = await this.audit.page(
      { userId: principal.user.id },
      page.first ?? PAGE_DEFAULT,
      page.after ?? undefined,
    );
    return rows.map((r) => toEvent(r, { ownLog: true }));
  }

  async all(args: AuditEventsArgs): Promise<SecurityEvent[]> {
    const rows = await this.audit.page(
      { userId: args.userId ?? undefined, type: args.type ?? undefined },
      args.first ?? PAGE_DEFAULT,
      args.after ?? undefined,
    );
    return rows.map((r) => toEvent(r, { ownLog: false }));
  }
}

/**
 * The public fields of a row. In a user's own log, a change an admin made
 * (actorId set, and not the user) shows what changed and when, but not the
 * admin's address, user agent, session or request.
 */
function toEvent(r: SecurityEventRow, opts: { ownLog: boolean }): SecurityEvent {
  const hideCaller = opts.ownLog && r.actorId !== null && r.actorId !== r.userId;
  const e = new SecurityEvent();
  e.id = r.id;
  e.type = r.type;
  e.userId = r.userId;
  e.actorId = r.actorId;
  e.sessionId = hideCaller ? null : r.sessionId;
  e.ip = hideCaller ? null : r.ip;
  e.userAgent = hideCaller ? null : r.userAgent;
  e.requestId = hideCaller ? null : r.requestId;
  e.createdAt = r.createdAt;
  return e;
}
