import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import { MemoryLoginAttemptStore } from '../../src/lockout/login-attempts.js';

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
