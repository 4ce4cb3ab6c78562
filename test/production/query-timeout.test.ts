import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { missing } from '../support/services.js';
import { createDatabase, email, ME, REGISTER, sql } from './support.js';

/**
 * DATABASE_QUERY_TIMEOUT on the client side ends a connection only when a
 * query on it waits that long for an answer (database-faults.test.ts freezes
 * the network to show that); a connection merely idle in the pool for longer
 * is kept, not torn down and reopened.
 */
describe.skipIf(missing('postgres'))('DATABASE_QUERY_TIMEOUT and idle connections', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    t = await startTestApp({ DATABASE_URL: db.url, DATABASE_QUERY_TIMEOUT: '150ms' });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /** The API's connections to its database (server process ids), this query's own left out. */
  async function apiConnections(): Promise<number[]> {
    const rows = await sql<{ pid: number }>(
      db.url,
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows.map((r) => r.pid).sort();
  }

  it('keeps a connection idle for longer than the timeout, and it still serves', async () => {
    const reg = await t.gql(REGISTER, {
      i: { email: email('idle'), password: 'correct horse battery' },
    });
    expect(reg.errors).toBeUndefined();
    const token = reg.data.register.accessToken;
    const before = await apiConnections();
    expect(before.length).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, 800)); // > 5 x DATABASE_QUERY_TIMEOUT, all idle

    const me = await t.gql(ME, {}, { token });
    expect(me.errors).toBeUndefined();
    expect(me.data.me.id).toBe(reg.data.register.user.id);
    const after = await apiConnections();
    for (const pid of before) expect(after).toContain(pid);
  });
});
