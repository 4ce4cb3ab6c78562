import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import {
  type LoginAttemptStore,
  MemoryLoginAttemptStore,
  RedisLoginAttemptStore,
} from '../../src/lockout/login-attempts.js';
import { missing, REDIS_SERVER_URL } from '../support/services.js';

function store(env: Record<string, string>) {
  return new MemoryLoginAttemptStore(
    new AppConfig(parseEnv({ AUTH_LOGIN_FAILURE_WINDOW: '60s', ...env }), '/tmp', 'x'.repeat(32)),
  );
}

async function lock(s: MemoryLoginAttemptStore, account: string, n: number) {
  for (let i = 0; i < n; i++) await s.reserve(account);
}

/**
 * Issue 15, hole 7: the in-memory failed-login store has a size cap (least
 * recently used out first) and does O(1) work per call (no sweep of the map).
 */
describe('MemoryLoginAttemptStore: bounded, least recently used out first', () => {
  afterEach(() => vi.useRealTimers());

  it('never holds more than AUTH_LOGIN_TRACKED_MAX accounts, however many distinct emails come', async () => {
    const s = store({ AUTH_LOGIN_TRACKED_MAX: '100', AUTH_LOGIN_MAX_FAILURES: '3' });
    for (let i = 0; i < 5000; i++) await s.reserve(`flood-${i}@example.com`);
    expect(s.size).toBe(100);
  });

  it('the least recently used account goes first; one used since is kept, with its lock', async () => {
    const s = store({ AUTH_LOGIN_TRACKED_MAX: '100', AUTH_LOGIN_MAX_FAILURES: '3' });
    await lock(s, 'victim@example.com', 3);
    await lock(s, 'old@example.com', 3);
    for (let i = 0; i < 98; i++) await s.reserve(`other-${i}@example.com`);
    // Full (100). The victim is used again: now the most recent.
    expect((await s.reserve('victim@example.com')).retryAfterSeconds).toBeGreaterThan(0);
    await s.reserve('newcomer@example.com');
    // old@ was the least recently used: pushed out, its count forgotten.
    expect(await s.reserve('old@example.com')).toEqual({ retryAfterSeconds: 0, remaining: 2 });
    // The victim is still locked.
    expect((await s.reserve('victim@example.com')).retryAfterSeconds).toBeGreaterThan(0);
    expect(s.size).toBe(100);
  });

  it('an expired entry is replaced when next used (the window starts again)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const s = store({ AUTH_LOGIN_TRACKED_MAX: '100', AUTH_LOGIN_MAX_FAILURES: '2' });
    await lock(s, 'a@example.com', 2);
    expect((await s.reserve('a@example.com')).retryAfterSeconds).toBe(60);
    vi.advanceTimersByTime(60_001);
    expect(await s.reserve('a@example.com')).toEqual({ retryAfterSeconds: 0, remaining: 1 });
  });

  it('clear forgets an account', async () => {
    const s = store({ AUTH_LOGIN_TRACKED_MAX: '100', AUTH_LOGIN_MAX_FAILURES: '1' });
    await s.reserve('a@example.com');
    expect((await s.reserve('a@example.com')).retryAfterSeconds).toBeGreaterThan(0);
    await s.clear('a@example.com');
    expect(s.size).toBe(0);
    expect((await s.reserve('a@example.com')).retryAfterSeconds).toBe(0);
  });
});

/**
 * lockedFor: how long an account's lock has left, counting nothing (the
 * per-address limit adds it to its retryAfter: test/integration/limits.test.ts).
 */
describe('lockedFor reads the lock without counting', () => {
  const env = { AUTH_LOGIN_TRACKED_MAX: '100', AUTH_LOGIN_MAX_FAILURES: '2' };
  const config = () =>
    new AppConfig(parseEnv({ AUTH_LOGIN_FAILURE_WINDOW: '60s', ...env }), '/tmp', 'x'.repeat(32));

  async function check(s: LoginAttemptStore, account: string) {
    expect(await s.lockedFor(account)).toBe(0);
    await s.reserve(account);
    expect(await s.lockedFor(account)).toBe(0);
    // read any number of times: nothing is counted
    expect(await s.lockedFor(account)).toBe(0);
    expect((await s.reserve(account)).retryAfterSeconds).toBe(0);
    const locked = await s.lockedFor(account);
    expect(locked).toBeGreaterThan(55);
    expect(locked).toBeLessThanOrEqual(60);
    expect((await s.reserve(account)).retryAfterSeconds).toBe(locked);
    await s.clear(account);
    expect(await s.lockedFor(account)).toBe(0);
  }

  it('in memory', async () => {
    await check(new MemoryLoginAttemptStore(config()), 'mem@example.com');
  });

  it.skipIf(missing('redis'))('in Redis', async () => {
    const redis = new Redis(REDIS_SERVER_URL, { lazyConnect: true });
    await redis.connect();
    try {
      await check(new RedisLoginAttemptStore(redis, config()), `redis-${randomUUID()}@example.com`);
    } finally {
      redis.disconnect();
    }
  });
});
