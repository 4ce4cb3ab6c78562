import { expect } from 'vitest';
import {
  AuditEventsDocument,
  type AuditEventsQuery,
  type SecurityEventFieldsFragment,
} from '../generated/graphql.js';
import type { GqlResponse, TestApp } from '../support/app.js';
import { op, register } from './helpers.js';

/**
 * A fresh account made ADMIN in the database (the way an operator's
 * `npm run user:role` does when no server runs), so that the tests do not
 * depend on how ADMIN_EMAILS grants the role. The role is read on every
 * guarded call, so the token it registered with is an admin's at once.
 */
export async function registerAdmin(t: TestApp, email?: string) {
  const a = await register(t, email);
  await t.db.prisma.user.update({ where: { id: a.user.id }, data: { role: 'ADMIN' } });
  return a;
}

/** The field names of a BAD_USER_INPUT answer. */
export function badFields(r: GqlResponse<unknown>): string[] {
  expect(r.code).toBe('BAD_USER_INPUT');
  return ((r.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field);
}

/** Every event auditEvents lists for these filters, newest first (paged to the end). */
export async function allAuditEvents(
  t: TestApp,
  adminToken: string,
  filter: { userId?: string; type?: SecurityEventFieldsFragment['type'] } = {},
): Promise<SecurityEventFieldsFragment[]> {
  const out: SecurityEventFieldsFragment[] = [];
  let after: string | null = null;
  for (;;) {
    const r: GqlResponse<AuditEventsQuery> = await op(
      t,
      AuditEventsDocument,
      { ...filter, first: 100, after },
      {
        token: adminToken,
      },
    );
    expect(r.errors).toBeUndefined();
    out.push(...r.data.auditEvents);
    if (r.data.auditEvents.length < 100) return out;
    after = r.data.auditEvents[99].id;
  }
}
