import { Injectable } from '@nestjs/common';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import type { SecurityEventType } from '../generated/prisma/enums.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';

/** What is recorded of an event: never a password, token, code or secret. */
export interface NewSecurityEvent {
  type: SecurityEventType;
  userId?: string | null;
  sessionId?: string | null;
  /** The caller (ip, user agent, request id); absent for what the server does by itself. */
  client?: ClientInfo | null;
}

/** The Prisma client, or the transaction the event belongs to. */
export type Db = PrismaClient | Prisma.TransactionClient;

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
}

/** The row of an event (also for callers that write it inside their own statement). */
export function eventData(e: NewSecurityEvent): Prisma.SecurityEventUncheckedCreateInput {
  return {
    type: e.type,
    userId: e.userId ?? null,
    sessionId: e.sessionId ?? null,
    ip: e.client?.ip ?? null,
    userAgent: e.client?.userAgent ?? null,
    requestId: e.client?.requestId ?? null,
  };
}
