import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  createDatabase,
  email,
  LOGIN,
  LOGOUT,
  ME,
  PG_BASE,
  REFRESH,
  REGISTER,
  sql,
  tcpProxy,
} from './support.js';
import { missing } from '../support/services.js';

const PASSWORD = 'correct horse battery';
const SESSIONS = `{ sessions { id current } }`;
/** What must never reach a client: driver, ORM or SQL text, stack traces. */
const LEAK = /ECONN|prisma|postgres|\bpg\b|sql|socket|timeout|terminat|\bat \S+\.(js|ts)|stack/i;

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await f();
  return { value, ms: Date.now() - started };
}

async function eventually(check: () => Promise<boolean>, tries = 60): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * PostgreSQL goes away under a running API (a TCP proxy in front of the shared
 * server that the test cuts or freezes), then comes back.
 */
describe.skipIf(missing('postgres'))('PostgreSQL stops while the API runs', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let t: TestApp;
  let mail: string;
  let token: string;
  let refreshToken: string;

  beforeAll(async () => {
    db = await createDatabase();
    const base = new URL(PG_BASE);
    proxy = await tcpProxy({ host: base.hostname, port: Number(base.port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    t = await startTestApp({
      DATABASE_URL: viaProxy.toString(),
      DATABASE_CONNECT_TIMEOUT: '1s',
      DATABASE_QUERY_TIMEOUT: '1500ms',
    });
    mail = email('dbdown');
    const reg = await t.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
    expect(reg.errors).toBeUndefined();
    token = reg.data.register.accessToken;
    refreshToken = reg.data.register.refreshToken;
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await db?.drop();
  });

  async function everyOperationFailsCleanly() {
    const calls: [string, () => Promise<{ code?: string; body: unknown }>][] = [
      ['me', () => t.gql(ME, {}, { token })],
      ['sessions', () => t.gql(SESSIONS, {}, { token })],
      ['login', () => t.gql(LOGIN, { i: { email: mail, password: PASSWORD } })],
      ['register', () => t.gql(REGISTER, { i: { email: email('x'), password: PASSWORD } })],
      ['refreshToken', () => t.gql(REFRESH, { i: { refreshToken } })],
      ['logout', () => t.gql(LOGOUT, { i: { refreshToken } })],
    ];
    const results = await Promise.all(
      calls.map(async ([name, f]) => [name, await timed(f)] as const),
    );
    for (const [name, { value, ms }] of results) {
      // An answer, not a hang (generous bound: the timeouts here are 1-1.5 s).
      expect(ms, name).toBeLessThan(8_000);
      expect(value.code, name).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(value.body), name).not.toMatch(LEAK);
    }
    const health = await timed(() => fetch(`${t.url}/health`));
    expect(health.ms).toBeLessThan(8_000);
    expect(health.value.status).toBe(503);
    const healthBody = await health.value.text();
    expect(healthBody).toMatch(/"database"/);
    expect(healthBody).not.toMatch(LEAK);
  }

  async function recovers() {
    expect(await eventually(async () => (await fetch(`${t.url}/health`)).status === 200)).toBe(
      true,
    );
    expect(await eventually(async () => !(await t.gql(ME, {}, { token })).errors)).toBe(true);
    const login = await t.gql(LOGIN, { i: { email: mail, password: PASSWORD } });
    expect(login.errors).toBeUndefined();
  }

  it('refused connections (database stopped): clean errors, 503, then recovery', async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    proxy.cut();
    await everyOperationFailsCleanly();
    proxy.restore();
    await recovers();
  });

  it('a frozen network (no answer at all): still answers, by timeouts, then recovery', async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    proxy.freeze();
    await everyOperationFailsCleanly();
    proxy.restore();
    await recovers();
  });
});

/** A fault injected between the two writes of register and of refresh: nothing half-done. */
describe.skipIf(missing('postgres'))('no partial writes', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    t = await startTestApp({ DATABASE_URL: db.url, REFRESH_REUSE_GRACE: '0' });
    await sql(
      db.url,
      `CREATE FUNCTION fail_refresh_insert() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'injected fault'; END $$`,
    );
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const arm = () =>
    sql(
      db.url,
      `CREATE TRIGGER inject BEFORE INSERT ON refresh_tokens FOR EACH ROW EXECUTE FUNCTION fail_refresh_insert()`,
    );
  const disarm = () => sql(db.url, `DROP TRIGGER IF EXISTS inject ON refresh_tokens`);

  it('register failing at the refresh token leaves no user and no session', async () => {
    const mail = email('half');
    await arm();
    try {
      const r = await t.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
      expect(r.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(r.body)).not.toMatch(/injected|trigger|sql/i);
    } finally {
      await disarm();
    }
    expect(await sql(db.url, `SELECT id FROM users WHERE email = $1`, [mail])).toEqual([]);
    expect(await sql(db.url, `SELECT count(*)::int AS n FROM sessions`)).toEqual([{ n: 0 }]);
    // And the email is still free.
    const again = await t.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
    expect(again.errors).toBeUndefined();
  });

  it('refresh failing at the new token leaves the old one live and alone', async () => {
    const mail = email('rot');
    const reg = await t.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
    const old = reg.data.register.refreshToken;
    await arm();
    try {
      const r = await t.gql(REFRESH, { i: { refreshToken: old } });
      expect(r.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await disarm();
    }
    const rows = await sql(
      db.url,
      `SELECT rt.rotated_at, s.revoked_at FROM refresh_tokens rt
         JOIN sessions s ON s.id = rt.session_id
         JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      [mail],
    );
    // Exactly one token in the session, not rotated, session not revoked.
    expect(rows).toHaveLength(1);
    expect(rows[0].rotated_at).toBeNull();
    expect(rows[0].revoked_at).toBeNull();
    // The old token still works (it was not consumed), once.
    const ok = await t.gql(REFRESH, { i: { refreshToken: old } });
    expect(ok.errors).toBeUndefined();
    const live = await sql(
      db.url,
      `SELECT count(*)::int AS n FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
         JOIN users u ON u.id = s.user_id WHERE u.email = $1 AND rt.rotated_at IS NULL`,
      [mail],
    );
    expect(live).toEqual([{ n: 1 }]);
  });
});
