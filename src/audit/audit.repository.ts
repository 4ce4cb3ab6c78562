import { Injectable } from '@nestjs/common';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import type { SecurityEventType } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import type { Db } from '../database/db.js';

/** What is recorded of an event: never a password, token, code or secret. */
export interface NewSecurityEvent {
  type: SecurityEventType;
  userId?: string | null;
  /** Who made the change when it was not the user: the admin of ROLE_CHANGED etc. */
  actorId?: string | null;
  sessionId?: string | null;
  /** The caller (ip, user agent, request id); absent for what the server does by itself. */
  client?: ClientInfo | null;
}

export type { Db };

/** A stored event, as the listings read it. */
export interface SecurityEventRow {
  id: string;
  type: SecurityEventType;
  userId: string | null;
  actorId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: Date;
}

/** Which events a listing wants; both filters at once are an AND. */
export interface EventFilter {
  userId?: string;
  type?: SecurityEventType;
}

/**
 * All persistence of the security log. An event that records a change is
 * written with it: pass the transaction (`record(tx, event)`), so that the
 * change and its event commit together or not at all.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async record(db: Db | null, e: NewSecurityEvent): Promise<void> {
    await (db ?? this.prisma).securityEvent.create({ data: eventData(e) });
  }

  /**
   * A page of events, newest first: ids are UUIDv7 (time-ordered), so
   * "newest first" is descending id order and `after` is "ids below this one".
   * Served by the (user_id, id DESC) and (type, id DESC) indexes.
   */
  page(filter: EventFilter, first: number, after?: string): Promise<SecurityEventRow[]> {
    return this.prisma.securityEvent.findMany({
      where: {
        ...(filter.userId ? { userId: filter.userId } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        ...(after ? { id: { lt: after } } : {}),
      },
      orderBy: { id: 'desc' },
      take: first,
    });
  }
}

/** The row of an event (also for callers that write it inside their own statement). */
export function eventData(e: NewSecurityEvent): Prisma.SecurityEventUncheckedCreateInput {
  return {
    type: e.type,
    userId: e.userId ?? null,
    actorId: e.actorId ?? null,
    sessionId: e.sessionId ?? null,
    ip: e.client?.ip ?? null,
    userAgent: e.client?.userAgent ?? null,
    requestId: e.client?.requestId ?? null,
  };
}
