import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginDocument } from '../generated/graphql.js';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { op, PASSWORD, uniqueEmail } from './helpers.js';

/** A hash as a server with BCRYPT_ROUNDS=4 made it. */
function oldCostHash(password: string): Promise<string> {
  const config = new AppConfig(parseEnv({ BCRYPT_ROUNDS: '4' }), '/tmp', 'x'.repeat(32));
  return new PasswordService(config).hash(password);
}

/** Waits (polling the database, not a fixed sleep) until `check` holds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(await check()).toBe(true);
}

/**
 * Issue 15, hole 9: when BCRYPT_ROUNDS changes, a stored hash of the old cost
 * is replaced at the next successful login, so old hashes do not keep the
 * old cost (and a known email's check the old cost's time) forever.
 */
describe('rehash on login when BCRYPT_ROUNDS changed (now 5, stored 4)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ BCRYPT_ROUNDS: '5' });
  });
  afterAll(() => t?.close());

  const hashOf = async (email: string) =>
    (await t.db.prisma.user.findUniqueOrThrow({ where: { email } })).passwordHash;

  it('a wrong password leaves the old hash; the right one replaces it with one at the current cost, which still logs in', async () => {
    const email = uniqueEmail('old-cost');
    const stored = await oldCostHash(PASSWORD);
    expect(stored).toMatch(/^\$2b\$04\$/);
    const user = await t.db.prisma.user.create({ data: { email, passwordHash: stored } });

    const wrong = await op(t, LoginDocument, { input: { email, password: 'not the password' } });
    expect(wrong.code).toBe('UNAUTHENTICATED');
    expect(await hashOf(email)).toBe(stored);
    const ok = await op(t, LoginDocument, { input: { email, password: PASSWORD } });
    expect(ok.errors).toBeUndefined();
    await until(async () => (await hashOf(email)) !== stored);
    expect(await hashOf(email)).toMatch(/^\$2b\$05\$/);

    // Same password, same credentials version (no session was ended by it).
    const again = await op(t, LoginDocument, { input: { email, password: PASSWORD } });
    expect(again.errors).toBeUndefined();
    const row = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.credentialsVersion).toBe(user.credentialsVersion);
    expect(await t.db.prisma.session.count({ where: { userId: user.id, revokedAt: null } })).toBe(
      2,
    );
  });
});
