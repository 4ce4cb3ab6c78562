import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditEventsDocument,
  SecurityEventsDocument,
  SetUserDisabledDocument,
  SetUserRoleDocument,
  type SecurityEventFieldsFragment,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { allAuditEvents, badFields, registerAdmin } from './audit-helpers.js';
import { login, op, register } from './helpers.js';

/** docs/api.md, "Security log and administration": securityEvents, auditEvents. */
describe('security log', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof registerAdmin>>;
  let a: Awaited<ReturnType<typeof register>>;
  let b: Awaited<ReturnType<typeof register>>;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await registerAdmin(t);
    a = await register(t);
    b = await register(t);
    // Five events about A and four about B, through the API, alternating.
    for (let i = 0; i < 5; i++) {
      await op(
        t,
        SetUserRoleDocument,
        { userId: a.user.id, role: i % 2 ? 'USER' : 'ADMIN' },
        {
          token: admin.accessToken,
        },
      );
      if (i < 4)
        await op(
          t,
          SetUserDisabledDocument,
          { userId: b.user.id, disabled: i % 2 === 0 },
          {
            token: admin.accessToken,
          },
        );
    }
    // Disabling ended B's sessions; B is enabled again and logs in.
    b = { ...b, ...(await login(t, b.email)) };
    // A ends as ADMIN after 5 changes (ADMIN, USER, ADMIN, USER, ADMIN); make it USER again
    // directly, so that it is a plain user for the tests (no event).
    await t.db.prisma.user.update({ where: { id: a.user.id }, data: { role: 'USER' } });
  });
  afterAll(() => t?.close());

  const own = (token: string, vars: { first?: number | null; after?: string | null } = {}) =>
    op(t, SecurityEventsDocument, vars, { token });

  /** Every page of the caller's own log, `first` at a time. */
  async function pagesOf(token: string, first: number): Promise<SecurityEventFieldsFragment[][]> {
    const pages: SecurityEventFieldsFragment[][] = [];
    let after: string | null = null;
    for (let i = 0; i < 1000; i++) {
      const r = await own(token, { first, after });
      expect(r.errors).toBeUndefined();
      if (r.data.securityEvents.length === 0) return pages;
      pages.push(r.data.securityEvents);
      after = r.data.securityEvents.at(-1)!.id;
    }
    throw new Error('paging did not end');
  }

  const isDescending = (ids: string[]) => ids.every((id, i) => i === 0 || ids[i - 1] > id);

  describe('securityEvents', () => {
    it('is guarded', async () => {
      expect((await op(t, SecurityEventsDocument, {})).code).toBe('UNAUTHENTICATED');
    });

    it("lists only the caller's own events, newest first", async () => {
      const r = await own(a.accessToken, { first: 100 });
      expect(r.errors).toBeUndefined();
      const events = r.data.securityEvents;
      expect(events.length).toBeGreaterThanOrEqual(5);
      for (const e of events) expect(e.userId).toBe(a.user.id);
      expect(isDescending(events.map((e) => e.id))).toBe(true);
      const times = events.map((e) => new Date(e.createdAt).getTime());
      expect(times.every((x, i) => i === 0 || times[i - 1] >= x)).toBe(true);
      // The role changes, the last one first.
      const roles = events.filter((e) => e.type === 'ROLE_CHANGED');
      expect(roles).toHaveLength(5);
      const fromDb = await t.db.prisma.securityEvent.findMany({
        where: { userId: a.user.id, type: 'ROLE_CHANGED' },
        orderBy: { createdAt: 'desc' },
      });
      expect(roles.map((e) => e.id)).toEqual(fromDb.map((e) => e.id));

      const other = (await own(b.accessToken, { first: 100 })).data.securityEvents;
      expect(other.filter((e) => e.type.startsWith('USER_'))).toHaveLength(4);
      expect(other.every((e) => e.userId === b.user.id)).toBe(true);
      expect(other.map((e) => e.id)).not.toContain(roles[0].id);
    });

    it('pages by id with first/after: every event exactly once, in the same order as one big page', async () => {
      const whole = (await own(a.accessToken, { first: 100 })).data.securityEvents.map((e) => e.id);
      const pages = await pagesOf(a.accessToken, 2);
      expect(pages.slice(0, -1).every((p) => p.length === 2)).toBe(true);
      expect(pages.flat().map((e) => e.id)).toEqual(whole);
    });

    it('defaults to 20', async () => {
      for (let i = 0; i < 21; i++) {
        await t.db.prisma.securityEvent.create({
          data: { type: 'LOGIN_FAILED', userId: b.user.id, ip: '192.0.2.1' },
        });
      }
      expect((await own(b.accessToken)).data.securityEvents).toHaveLength(20);
    });

    it("a change made by an admin shows in the user's own log without the admin's address, agent, session or request", async () => {
      const mine = (await own(a.accessToken, { first: 100 })).data.securityEvents.find(
        (e) => e.type === 'ROLE_CHANGED',
      )!;
      expect(mine).toMatchObject({
        actorId: admin.user.id,
        ip: null,
        userAgent: null,
        sessionId: null,
        requestId: null,
      });
      const seenByAdmin = (
        await allAuditEvents(t, admin.accessToken, { userId: a.user.id, type: 'ROLE_CHANGED' })
      ).find((e) => e.id === mine.id)!;
      expect(seenByAdmin.ip).toBe('127.0.0.1');
      expect(seenByAdmin.sessionId).not.toBeNull();
      expect(seenByAdmin.requestId).not.toBeNull();
    });

    it.each([0, -1, 101, 2 ** 31 - 1])('first: %i is BAD_USER_INPUT naming first', async (n) => {
      expect(badFields(await own(a.accessToken, { first: n }))).toEqual(['first']);
    });

    it('after that is not an id is BAD_USER_INPUT naming after', async () => {
      for (const after of ['nope', "' OR 1=1 --", 'x\u0000', '\ud800'])
        expect(badFields(await own(a.accessToken, { after }))).toEqual(['after']);
    });

    it('after an id that is no event: the events older than it (ids are time-ordered)', async () => {
      const all = (await own(a.accessToken, { first: 100 })).data.securityEvents;
      const r = await own(a.accessToken, { after: 'ffffffff-ffff-7fff-bfff-ffffffffffff' });
      expect(r.data.securityEvents.map((e) => e.id)).toEqual(all.slice(0, 20).map((e) => e.id));
      const none = await own(a.accessToken, { after: '00000000-0000-7000-8000-000000000000' });
      expect(none.data.securityEvents).toEqual([]);
    });
  });

  describe('auditEvents', () => {
    const audit = (
      vars: {
        first?: number | null;
        after?: string | null;
        userId?: string | null;
        type?: SecurityEventFieldsFragment['type'] | null;
      },
      token = admin.accessToken,
    ) => op(t, AuditEventsDocument, vars, { token });

    it('is ADMIN only: a USER is FORBIDDEN, without a token UNAUTHENTICATED', async () => {
      const r = await audit({}, a.accessToken);
      expect(r.code).toBe('FORBIDDEN');
      expect(r.data).toBeNull();
      expect((await op(t, AuditEventsDocument, {})).code).toBe('UNAUTHENTICATED');
    });

    it("lists everyone's events, newest first", async () => {
      const events = await allAuditEvents(t, admin.accessToken);
      const users = new Set(events.map((e) => e.userId));
      expect(users).toContain(a.user.id);
      expect(users).toContain(b.user.id);
      expect(isDescending(events.map((e) => e.id))).toBe(true);
      expect(events).toHaveLength(await t.db.prisma.securityEvent.count());
    });

    it('filters by user, by type, and by both', async () => {
      const ofA = await allAuditEvents(t, admin.accessToken, { userId: a.user.id });
      expect(ofA.length).toBeGreaterThanOrEqual(5);
      expect(ofA.every((e) => e.userId === a.user.id)).toBe(true);

      const disabled = await allAuditEvents(t, admin.accessToken, { type: 'USER_DISABLED' });
      expect(disabled.length).toBeGreaterThanOrEqual(2);
      expect(disabled.every((e) => e.type === 'USER_DISABLED')).toBe(true);

      const both = await allAuditEvents(t, admin.accessToken, {
        userId: b.user.id,
        type: 'USER_ENABLED',
      });
      expect(both).toHaveLength(2);
      for (const e of both) expect(e).toMatchObject({ userId: b.user.id, type: 'USER_ENABLED' });
      expect(
        await allAuditEvents(t, admin.accessToken, { userId: a.user.id, type: 'USER_ENABLED' }),
      ).toEqual([]);
    });

    it('pages with first/after under a filter', async () => {
      const whole = await allAuditEvents(t, admin.accessToken, { type: 'ROLE_CHANGED' });
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const r = await audit({ type: 'ROLE_CHANGED', first: 3, after });
        const ids = r.data.auditEvents.map((e) => e.id);
        if (!ids.length) break;
        seen.push(...ids);
        after = ids.at(-1)!;
      }
      expect(seen).toEqual(whole.map((e) => e.id));
    });

    it('a bad argument is BAD_USER_INPUT naming it', async () => {
      expect(badFields(await audit({ userId: 'nope' }))).toEqual(['userId']);
      expect(badFields(await audit({ userId: 'x\u0000' }))).toEqual(['userId']);
      expect(badFields(await audit({ first: 101 }))).toEqual(['first']);
      expect(badFields(await audit({ after: '1 OR 1=1' }))).toEqual(['after']);
      const badType = await t.gql(
        `query($type: SecurityEventType) { auditEvents(type: $type) { id } }`,
        { type: 'EVERYTHING' },
        { token: admin.accessToken },
      );
      expect(badType.code).toBe('BAD_USER_INPUT');
      expect(badType.data ?? null).toBeNull();
    });
  });
});
