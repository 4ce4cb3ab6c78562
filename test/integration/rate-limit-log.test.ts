import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { codes, op, uniqueEmail } from './helpers.js';

/**
 * The `rate_limited` log line (GqlThrottlerGuard): once per limited key and
 * block, so a client that ignores Retry-After cannot write a warning per
 * call. Its own file: the app's log is collected through Nest's Logger, which
 * is the last app's in a process.
 */
describe('limits: the log of refusals', () => {
  const lines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      { AUTH_RATE_LIMIT: '2', AUTH_RATE_LIMIT_WINDOW: '10m' },
      { logLines: lines },
    );
  });
  afterAll(() => t?.close());

  const loginFrom = (ip: string) =>
    op(
      t,
      LoginDocument,
      { input: { email: uniqueEmail('nobody'), password: 'wrong password' } },
      { headers: { 'x-forwarded-for': ip } },
    );
  const limitedLines = (ip: string) =>
    lines
      .map((l) => JSON.parse(l) as { event?: string; ip?: string; operation?: string })
      .filter((o) => o.event === 'rate_limited' && o.ip === ip);

  it('a client that keeps calling through its block gets every refusal but writes one rate_limited line per block; another client its own', async () => {
    const ip = '203.0.113.90';
    expect(codes(await loginFrom(ip))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await loginFrom(ip))).toEqual(['UNAUTHENTICATED']);
    for (let i = 0; i < 8; i++) expect((await loginFrom(ip)).code).toBe('TOO_MANY_REQUESTS');
    const other = '203.0.113.91';
    await loginFrom(other);
    await loginFrom(other);
    expect((await loginFrom(other)).code).toBe('TOO_MANY_REQUESTS');
    // the log is written in batches: wait for the other client's line, logged last
    for (let waited = 0; limitedLines(other).length === 0 && waited < 5000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));
    expect(limitedLines(ip)).toHaveLength(1);
    expect(limitedLines(ip)[0]).toMatchObject({ operation: 'login', limit: 'ip' });
    expect(limitedLines(other)).toHaveLength(1);
  });
});
