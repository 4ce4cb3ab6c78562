import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PasswordService } from '../../src/passwords/password.service.js';
import {
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  SessionsDocument,
  SetUserDisabledDocument,
  SetUserRoleDocument,
  UserByEmailDocument,
  UsersDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { allAuditEvents, badFields, registerAdmin } from './audit-helpers.js';
import { login, op, PASSWORD, register } from './helpers.js';

/**
 * Holds the next bcrypt compare of `password` after it ran, until the test
 * opens the barrier: a login stopped between its password check and its session.
 */
function holdNextCheckOf(t: TestApp, password: string) {
  const service = t.app.get(PasswordService);
  const original = service.verify.bind(service);
  let checked!: () => void;
  let release!: () => void;
  const isChecked = new Promise<void>((r) => (checked = r));
  const released = new Promise<void>((r) => (release = r));
  const spy = vi.spyOn(service, 'verify').mockImplementation(async (p, hash) => {
    const ok = await original(p, hash);
    if (p === password) {
      spy.mockRestore();
      checked();
      await released;
    }
    return ok;
  });
  return { checked: isChecked, release };
}

/** docs/api.md, "Security log and administration": setUserRole, setUserDisabled. */
describe('admin controls', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof registerAdmin>>;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await registerAdmin(t);
  });
  afterAll(() => t?.close());

  const setRole = (userId: string, role: 'ADMIN' | 'USER', token = admin.accessToken) =>
    op(t, SetUserRoleDocument, { userId, role }, { token });
  const setDisabled = (userId: string, disabled: boolean, token = admin.accessToken) =>
    op(t, SetUserDisabledDocument, { userId, disabled }, { token });
  const row = (id: string) => t.db.prisma.user.findUniqueOrThrow({ where: { id } });
  const eventsOf = (userId: string) =>
    t.db.prisma.securityEvent.findMany({ where: { userId }, orderBy: { id: 'asc' } });
  const adminEventsOf = async (userId: string) =>
    (await eventsOf(userId)).filter((e) =>
      ['ROLE_CHANGED', 'USER_DISABLED', 'USER_ENABLED'].includes(e.type),
    );

  describe('who may', () => {
    it('a USER is FORBIDDEN and changes nothing; without a token UNAUTHENTICATED', async () => {
      const u = await register(t);
      const v = await register(t);
      expect((await setRole(v.user.id, 'ADMIN', u.accessToken)).code).toBe('FORBIDDEN');
      expect((await setRole(u.user.id, 'ADMIN', u.accessToken)).code).toBe('FORBIDDEN');
      expect((await setDisabled(v.user.id, true, u.accessToken)).code).toBe('FORBIDDEN');
      expect((await op(t, SetUserRoleDocument, { userId: v.user.id, role: 'ADMIN' })).code).toBe(
        'UNAUTHENTICATED',
      );
      expect(
        (await op(t, SetUserDisabledDocument, { userId: v.user.id, disabled: true })).code,
      ).toBe('UNAUTHENTICATED');
      expect((await row(v.user.id)).role).toBe('USER');
      expect((await row(v.user.id)).disabledAt).toBeNull();
      expect((await row(u.user.id)).role).toBe('USER');
      expect(await adminEventsOf(v.user.id)).toEqual([]);
    });

    it('guards run before the arguments are looked at: a USER with a bad id is FORBIDDEN', async () => {
      const u = await register(t);
      expect((await setRole('not-an-id', 'ADMIN', u.accessToken)).code).toBe('FORBIDDEN');
    });
  });

  describe('userByEmail', () => {
    it('finds a user by email in any letter case (ADMIN only); null for an unknown one', async () => {
      const b = await register(t);
      const found = await op(
        t,
        UserByEmailDocument,
        { email: `  ${b.email.toUpperCase()} ` },
        { token: admin.accessToken },
      );
      expect(found.data.userByEmail).toMatchObject({ id: b.user.id, email: b.email });
      const none = await op(
        t,
        UserByEmailDocument,
        { email: 'nobody-here@example.com' },
        { token: admin.accessToken },
      );
      expect(none.errors).toBeUndefined();
      expect(none.data.userByEmail).toBeNull();
      const asUser = await op(t, UserByEmailDocument, { email: b.email }, { token: b.accessToken });
      expect(asUser.code).toBe('FORBIDDEN');
      expect((await op(t, UserByEmailDocument, { email: b.email })).code).toBe('UNAUTHENTICATED');
      expect(
        badFields(
          await op(
            t,
            UserByEmailDocument,
            { email: 'x\u0000@example.com' },
            { token: admin.accessToken },
          ),
        ),
      ).toEqual(['email']);
    });
  });

  describe('setUserRole', () => {
    it('promotes at once: the promoted user’s existing token can list users; demoting takes it back at once', async () => {
      const b = await register(t);
      expect((await op(t, UsersDocument, {}, { token: b.accessToken })).code).toBe('FORBIDDEN');

      const up = await setRole(b.user.id, 'ADMIN');
      expect(up.errors).toBeUndefined();
      expect(up.data.setUserRole).toMatchObject({ id: b.user.id, email: b.email, role: 'ADMIN' });
      expect((await op(t, MeDocument, {}, { token: b.accessToken })).data.me.role).toBe('ADMIN');
      expect((await op(t, UsersDocument, {}, { token: b.accessToken })).errors).toBeUndefined();

      const down = await setRole(b.user.id, 'USER');
      expect(down.data.setUserRole.role).toBe('USER');
      expect((await op(t, UsersDocument, {}, { token: b.accessToken })).code).toBe('FORBIDDEN');
      // A role change ends no session.
      expect((await op(t, MeDocument, {}, { token: b.accessToken })).errors).toBeUndefined();
    });

    it('records ROLE_CHANGED with the admin as actor, the admin’s session and client; the same role again records nothing', async () => {
      const b = await register(t);
      const r = await op(
        t,
        SetUserRoleDocument,
        { userId: b.user.id, role: 'ADMIN' },
        { token: admin.accessToken, headers: { 'user-agent': 'admin-console/2.0' } },
      );
      expect(r.errors).toBeUndefined();
      const again = await setRole(b.user.id, 'ADMIN');
      expect(again.data.setUserRole.role).toBe('ADMIN');

      const events = await adminEventsOf(b.user.id);
      expect(events).toHaveLength(1);
      const sid = JSON.parse(Buffer.from(admin.accessToken.split('.')[1], 'base64url').toString())
        .sid as string;
      expect(events[0]).toMatchObject({
        type: 'ROLE_CHANGED',
        userId: b.user.id,
        actorId: admin.user.id,
        sessionId: sid,
        ip: '127.0.0.1',
        userAgent: 'admin-console/2.0',
        requestId: r.headers.get('x-request-id'),
      });
    });

    it('an admin cannot demote themself (BAD_USER_INPUT naming userId), in any letter case of the id', async () => {
      for (const id of [admin.user.id, admin.user.id.toUpperCase()]) {
        expect(badFields(await setRole(id, 'USER'))).toEqual(['userId']);
      }
      expect((await row(admin.user.id)).role).toBe('ADMIN');
      expect(await adminEventsOf(admin.user.id)).toEqual([]);
      // Promoting oneself to what one is changes nothing and is allowed.
      expect((await setRole(admin.user.id, 'ADMIN')).data.setUserRole.role).toBe('ADMIN');
    });

    it('another admin can demote an admin', async () => {
      const other = await registerAdmin(t);
      const r = await setRole(other.user.id, 'USER');
      expect(r.data.setUserRole.role).toBe('USER');
      expect((await op(t, UsersDocument, {}, { token: other.accessToken })).code).toBe('FORBIDDEN');
    });

    it('an unknown userId is BAD_USER_INPUT naming userId; a malformed one too', async () => {
      expect(badFields(await setRole('0190a000-0000-7000-8000-000000000000', 'ADMIN'))).toEqual([
        'userId',
      ]);
      expect(badFields(await setRole('nope', 'ADMIN'))).toEqual(['userId']);
      expect(badFields(await setRole('x\u0000', 'ADMIN'))).toEqual(['userId']);
      expect(badFields(await setRole('a'.repeat(50_000), 'ADMIN'))).toEqual(['userId']);
    });

    it('an unknown role is refused before any resolver', async () => {
      const b = await register(t);
      const r = await t.gql(
        `mutation { setUserRole(userId: "${b.user.id}", role: ROOT) { id } }`,
        {},
        { token: admin.accessToken },
      );
      expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await row(b.user.id)).role).toBe('USER');
    });

    it('the change and its event commit together: when the event cannot be written, the role is unchanged', async () => {
      const b = await register(t);
      await t.db.prisma.$executeRawUnsafe(`
        CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.user_id = '${b.user.id}' THEN RAISE EXCEPTION 'event refused by the test'; END IF;
          RETURN NEW;
        END $$`);
      await t.db.prisma.$executeRawUnsafe(
        `CREATE TRIGGER test_refuse_event BEFORE INSERT ON security_events
         FOR EACH ROW EXECUTE FUNCTION test_refuse_event()`,
      );
      try {
        const r = await setRole(b.user.id, 'ADMIN');
        expect(r.code).toBe('INTERNAL_SERVER_ERROR');
        expect(JSON.stringify(r.body)).not.toContain('event refused');
        const d = await setDisabled(b.user.id, true);
        expect(d.code).toBe('INTERNAL_SERVER_ERROR');
      } finally {
        await t.db.prisma.$executeRawUnsafe(`DROP TRIGGER test_refuse_event ON security_events`);
        await t.db.prisma.$executeRawUnsafe(`DROP FUNCTION test_refuse_event()`);
      }
      const after = await row(b.user.id);
      expect(after.role).toBe('USER');
      expect(after.disabledAt).toBeNull();
      expect(after.credentialsVersion).toBe(0);
      // Its session was not revoked either.
      expect((await op(t, MeDocument, {}, { token: b.accessToken })).errors).toBeUndefined();
    });
  });

  describe('setUserDisabled', () => {
    it('disabling ends every session of the user at once: access tokens and refresh tokens die', async () => {
      const b = await register(t);
      const b2 = await login(t, b.email);
      const bystander = await register(t);
      const before = (await row(b.user.id)).credentialsVersion;

      const r = await setDisabled(b.user.id, true);
      expect(r.errors).toBeUndefined();
      expect(r.data.setUserDisabled).toMatchObject({ id: b.user.id, disabled: true });

      for (const s of [b, b2]) {
        expect((await op(t, MeDocument, {}, { token: s.accessToken })).code).toBe(
          'UNAUTHENTICATED',
        );
        expect((await op(t, SessionsDocument, {}, { token: s.accessToken })).code).toBe(
          'UNAUTHENTICATED',
        );
        const refreshed = await op(t, RefreshTokenDocument, {
          input: { refreshToken: s.refreshToken! },
        });
        expect(refreshed.data).toBeNull();
      }
      expect(
        await t.db.prisma.session.count({ where: { userId: b.user.id, revokedAt: null } }),
      ).toBe(0);
      expect(
        await t.db.prisma.session.count({
          where: { userId: b.user.id, revokedReason: 'disabled' },
        }),
      ).toBe(2);
      // What a login proves changed: a login in flight cannot open a session.
      expect((await row(b.user.id)).credentialsVersion).toBe(before + 1);
      // Nobody else was touched.
      expect(
        (await op(t, MeDocument, {}, { token: bystander.accessToken })).errors,
      ).toBeUndefined();
      expect((await op(t, MeDocument, {}, { token: admin.accessToken })).errors).toBeUndefined();
    });

    it('records USER_DISABLED, then USER_ENABLED; the same value again records nothing', async () => {
      const b = await register(t);
      expect((await setDisabled(b.user.id, true)).data.setUserDisabled.disabled).toBe(true);
      expect((await setDisabled(b.user.id, true)).data.setUserDisabled.disabled).toBe(true);
      expect((await setDisabled(b.user.id, false)).data.setUserDisabled.disabled).toBe(false);
      expect((await setDisabled(b.user.id, false)).data.setUserDisabled.disabled).toBe(false);
      const events = await adminEventsOf(b.user.id);
      expect(events.map((e) => e.type)).toEqual(['USER_DISABLED', 'USER_ENABLED']);
      for (const e of events) expect(e.actorId).toBe(admin.user.id);
      // Listed for admins too.
      const listed = await allAuditEvents(t, admin.accessToken, { userId: b.user.id });
      expect(
        listed.filter((e) => e.type.startsWith('USER_')).map((e) => [e.type, e.actorId]),
      ).toEqual([
        ['USER_ENABLED', admin.user.id],
        ['USER_DISABLED', admin.user.id],
      ]);
    });

    it('two admins disabling one user at the same moment make one change and one event', async () => {
      const other = await registerAdmin(t);
      const b = await register(t);
      const rs = await Promise.all([
        setDisabled(b.user.id, true),
        setDisabled(b.user.id, true, other.accessToken),
        setDisabled(b.user.id, true),
      ]);
      for (const r of rs) expect(r.data.setUserDisabled.disabled).toBe(true);
      expect((await adminEventsOf(b.user.id)).map((e) => e.type)).toEqual(['USER_DISABLED']);
      expect((await row(b.user.id)).credentialsVersion).toBe(1);
    });

    it('an admin cannot disable themself (BAD_USER_INPUT naming userId)', async () => {
      for (const id of [admin.user.id, admin.user.id.toUpperCase()]) {
        expect(badFields(await setDisabled(id, true))).toEqual(['userId']);
      }
      expect((await row(admin.user.id)).disabledAt).toBeNull();
      expect((await op(t, MeDocument, {}, { token: admin.accessToken })).errors).toBeUndefined();
      // Enabling oneself (already enabled) changes nothing.
      expect((await setDisabled(admin.user.id, false)).data.setUserDisabled.disabled).toBe(false);
      expect(await adminEventsOf(admin.user.id)).toEqual([]);
    });

    it('a disabled admin loses the controls with their sessions', async () => {
      const other = await registerAdmin(t);
      await setDisabled(other.user.id, true);
      const b = await register(t);
      expect((await setRole(b.user.id, 'ADMIN', other.accessToken)).code).toBe('UNAUTHENTICATED');
    });

    it('a disabled account: FORBIDDEN after the right password or its newest refresh token, UNAUTHENTICATED after wrong ones', async () => {
      const b = await register(t);
      const rotated = b.refreshToken!;
      const r1 = await op(t, RefreshTokenDocument, { input: { refreshToken: rotated } });
      const newest = r1.data.refreshToken.refreshToken!;
      await setDisabled(b.user.id, true);

      const right = await op(t, LoginDocument, { input: { email: b.email, password: PASSWORD } });
      expect(right.code).toBe('FORBIDDEN');
      expect(right.errors![0].extensions!.reason).toBe('ACCOUNT_DISABLED');
      expect(right.data).toBeNull();
      const wrong = await op(t, LoginDocument, {
        input: { email: b.email, password: 'not the password' },
      });
      expect(wrong.code).toBe('UNAUTHENTICATED');
      expect(wrong.errors![0].message).toBe('Invalid email or password');
      expect((await op(t, RefreshTokenDocument, { input: { refreshToken: newest } })).code).toBe(
        'FORBIDDEN',
      );
      expect((await op(t, RefreshTokenDocument, { input: { refreshToken: rotated } })).code).toBe(
        'UNAUTHENTICATED',
      );
      expect(
        await t.db.prisma.session.count({ where: { userId: b.user.id, revokedAt: null } }),
      ).toBe(0);

      // Enabled again: a login works; the sessions ended by the disabling stay ended.
      await setDisabled(b.user.id, false);
      const back = await op(t, LoginDocument, { input: { email: b.email, password: PASSWORD } });
      expect(back.errors).toBeUndefined();
      expect(
        (await op(t, MeDocument, {}, { token: back.data.login.accessToken })).data.me,
      ).toMatchObject({ id: b.user.id, disabled: false });
      expect((await op(t, RefreshTokenDocument, { input: { refreshToken: newest } })).code).toBe(
        'UNAUTHENTICATED',
      );
    });

    it('a login whose password was checked before setUserDisabled opens no session: FORBIDDEN', async () => {
      const b = await register(t);
      const sessions = () => t.db.prisma.session.count({ where: { userId: b.user.id } });
      const before = await sessions();
      const hold = holdNextCheckOf(t, PASSWORD);
      const pending = op(t, LoginDocument, { input: { email: b.email, password: PASSWORD } });
      await hold.checked;
      expect((await setDisabled(b.user.id, true)).errors).toBeUndefined();
      hold.release();
      const r = await pending;
      expect(r.code).toBe('FORBIDDEN');
      expect(await sessions()).toBe(before);
    });

    it('a login checked before a disable and an enable opens no session either (credentials_version)', async () => {
      const b = await register(t);
      const sessions = () => t.db.prisma.session.count({ where: { userId: b.user.id } });
      const before = await sessions();
      const hold = holdNextCheckOf(t, PASSWORD);
      const pending = op(t, LoginDocument, { input: { email: b.email, password: PASSWORD } });
      await hold.checked;
      await setDisabled(b.user.id, true);
      await setDisabled(b.user.id, false);
      hold.release();
      const r = await pending;
      // Not disabled any more, but not the credentials that were checked either.
      expect(r.code).toBe('UNAUTHENTICATED');
      expect(await sessions()).toBe(before);
      // A new login is fine.
      expect(
        (await op(t, LoginDocument, { input: { email: b.email, password: PASSWORD } })).errors,
      ).toBeUndefined();
    });

    it('an unknown or malformed userId is BAD_USER_INPUT naming userId', async () => {
      expect(badFields(await setDisabled('0190a000-0000-7000-8000-000000000000', true))).toEqual([
        'userId',
      ]);
      expect(badFields(await setDisabled('0190a000', false))).toEqual(['userId']);
    });
  });
});
