import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  createDatabase,
  email,
  LOGIN,
  LOGOUT,
  ME,
  randomPrefix,
  REDIS_BASE,
  REFRESH,
  REGISTER,
  startRedis,
} from './support.js';
import type { OwnedDatabase } from '../support/databases.js';
import { missing } from '../support/services.js';

const PASSWORD = 'correct horse battery';

/**
 * Two instances of the API (different ports) on one fresh PostgreSQL database
 * and the shared Redis, their keys under a random prefix that is deleted
 * afterwards. `a` and `b` are set once the describe's beforeAll has run.
 */
function twoInstances(env: Record<string, string>) {
  const pair = { prefix: randomPrefix() } as { prefix: string; a: TestApp; b: TestApp };
  let db: OwnedDatabase | undefined;
  beforeAll(async () => {
    db = await createDatabase();
    const full = {
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_BASE,
      REDIS_KEY_PREFIX: pair.prefix,
      ...env,
    };
    pair.a = await startTestApp(full);
    pair.b = await startTestApp(full);
  });
  afterAll(async () => {
    await pair.a?.close();
    await pair.b?.close();
    await db?.drop();
    const r = new Redis(REDIS_BASE);
    const keys = await r.keys(`${pair.prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  });
  return pair;
}

/**
 * Two instances of the API on different ports, one PostgreSQL database and one
 * Redis (a random key prefix per test run): everything that must hold across
 * instances behind one address.
 */
describe.skipIf(missing('postgres', 'redis'))(
  'two instances behind one address (PostgreSQL + Redis)',
  () => {
    const LIMIT = 6;
    const pair = twoInstances({
      AUTH_RATE_LIMIT: String(LIMIT),
      AUTH_LOGIN_MAX_FAILURES: '3',
      REFRESH_REUSE_GRACE: '0',
    });
    let a: TestApp;
    let b: TestApp;
    const prefix = pair.prefix;
    beforeAll(() => {
      ({ a, b } = pair);
    });

    it('a refresh token rotated on one instance is refused on the other', async () => {
      const reg = await a.gql(REGISTER, { i: { email: email('rot'), password: PASSWORD } });
      const rt = reg.data.register.refreshToken;
      const rotated = await a.gql(REFRESH, { i: { refreshToken: rt } });
      expect(rotated.errors).toBeUndefined();
      const child = rotated.data.refreshToken.refreshToken;
      // The rotated-away token presented on b: reuse (grace 0 here), refused...
      expect((await b.gql(REFRESH, { i: { refreshToken: rt } })).code).toBe('UNAUTHENTICATED');
      // ...and the whole session is revoked, on a too.
      expect((await a.gql(REFRESH, { i: { refreshToken: child } })).code).toBe('UNAUTHENTICATED');
    });

    it('logout on one instance ends the access token on the other', async () => {
      const reg = await a.gql(REGISTER, { i: { email: email('out'), password: PASSWORD } });
      const token = reg.data.register.accessToken;
      expect((await b.gql(ME, {}, { token })).errors).toBeUndefined();
      expect((await a.gql(LOGOUT, {}, { token })).data.logout).toBe(true);
      expect((await b.gql(ME, {}, { token })).code).toBe('UNAUTHENTICATED');
    });

    it('the per-IP rate limit counts the calls made to both instances', async () => {
      // A fresh email per call: only the IP limit is at play here.
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < LIMIT; i++) {
        const app = i % 2 === 0 ? a : b;
        const r = await app.gql(LOGIN, { i: { email: email('rl'), password: 'wrong password' } });
        codes.push(r.code);
      }
      expect(codes.every((c) => c === 'UNAUTHENTICATED')).toBe(true);
      // LIMIT calls were made, half on each: the next one, on either, is over the limit.
      const overA = await a.gql(LOGIN, { i: { email: email('rl'), password: 'x' } });
      const overB = await b.gql(LOGIN, { i: { email: email('rl'), password: 'x' } });
      expect(overA.code).toBe('TOO_MANY_REQUESTS');
      expect(overB.code).toBe('TOO_MANY_REQUESTS');
    });

    it('the counters live in Redis under the configured prefix', async () => {
      // Its own counted call, so that it does not depend on the test above.
      await a.gql(LOGIN, { i: { email: email('rl-key'), password: 'x' } });
      const r = new Redis(REDIS_BASE);
      try {
        expect((await r.keys(`${prefix}*`)).length).toBeGreaterThan(0);
      } finally {
        await r.quit();
      }
    });
  },
);

describe.skipIf(missing('postgres', 'redis'))(
  'failed logins per account are shared by instances',
  () => {
    const pair = twoInstances({ AUTH_LOGIN_MAX_FAILURES: '3' });
    let a: TestApp;
    let b: TestApp;
    const prefix = pair.prefix;
    beforeAll(() => {
      ({ a, b } = pair);
    });

    it('3 failures spread over both instances lock the account on both', async () => {
      const mail = email('lock');
      await a.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
      expect((await a.gql(LOGIN, { i: { email: mail, password: 'wrong 1!' } })).code).toBe(
        'UNAUTHENTICATED',
      );
      expect((await b.gql(LOGIN, { i: { email: mail, password: 'wrong 2!' } })).code).toBe(
        'UNAUTHENTICATED',
      );
      expect((await a.gql(LOGIN, { i: { email: mail, password: 'wrong 3!' } })).code).toBe(
        'UNAUTHENTICATED',
      );
      // Locked everywhere, even with the right password.
      const onB = await b.gql(LOGIN, { i: { email: mail, password: PASSWORD } });
      expect(onB.code).toBe('TOO_MANY_REQUESTS');
      expect(Number(onB.errors?.[0].extensions?.retryAfter)).toBeGreaterThan(0);
      expect((await a.gql(LOGIN, { i: { email: mail, password: PASSWORD } })).code).toBe(
        'TOO_MANY_REQUESTS',
      );
      // Another account is not affected.
      const other = email('free');
      await b.gql(REGISTER, { i: { email: other, password: PASSWORD } });
      expect(
        (await a.gql(LOGIN, { i: { email: other, password: PASSWORD } })).errors,
      ).toBeUndefined();
    });

    it('no email is stored in Redis (keys are hashed)', async () => {
      // Its own failed login, so that it does not depend on the test above.
      const mail = email('hashed');
      await a.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
      expect((await a.gql(LOGIN, { i: { email: mail, password: 'wrong 1!' } })).code).toBe(
        'UNAUTHENTICATED',
      );
      const r = new Redis(REDIS_BASE);
      try {
        const keys = await r.keys(`${prefix}*`);
        expect(keys.some((k) => k.includes('login-failures:'))).toBe(true);
        expect(keys.some((k) => k.includes('@') || k.includes(mail.split('@')[0]))).toBe(false);
      } finally {
        await r.quit();
      }
    });
  },
);

/**
 * Redis goes away: the operations that need it (login, register, refreshToken
 * through the rate limit; login and changePassword through the failed-login
 * store) fail closed, quickly, with INTERNAL_SERVER_ERROR; the rest (me,
 * sessions, logout) keep working; GET /health (the database) stays 200 and
 * GET /health/ready says 503. When Redis returns, everything works again
 * without a restart.
 */
describe.skipIf(missing('postgres', 'redis'))('Redis stops and returns', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    redis = await startRedis();
    t = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: randomPrefix(),
      REDIS_COMMAND_TIMEOUT: '500ms',
    });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
    await db?.drop();
  });

  it('fails closed and quickly while Redis is down, and recovers by itself', async () => {
    const mail = email('redis');
    const reg = await t.gql(REGISTER, { i: { email: mail, password: PASSWORD } });
    expect(reg.errors).toBeUndefined();
    const token = reg.data.register.accessToken;
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);

    await redis.stop();

    const started = Date.now();
    const login = await t.gql(LOGIN, { i: { email: mail, password: PASSWORD } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(login.code).toBe('INTERNAL_SERVER_ERROR');
    expect(login.errors?.[0].message).toBe('Internal server error');
    expect(login.data).toBeFalsy();
    const refresh = await t.gql(REFRESH, {
      i: { refreshToken: reg.data.register.refreshToken },
    });
    expect(refresh.code).toBe('INTERNAL_SERVER_ERROR');

    // What does not need Redis keeps working.
    expect((await t.gql(ME, {}, { token })).data?.me.email).toBe(mail);
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);

    // Redis comes back on the same port: no restart of the API.
    redis = await startRedis(redis.port);
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      const r = await t.gql(LOGIN, { i: { email: mail, password: PASSWORD } });
      ok = !r.errors;
      if (!ok) await new Promise((res) => setTimeout(res, 200));
    }
    expect(ok).toBe(true);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
  });
});
