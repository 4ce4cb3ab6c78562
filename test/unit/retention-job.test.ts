import { describe, expect, it } from 'vitest';
import type { Env } from '../../src/config/config.schema.js';
import type { Database } from '../../src/database/prisma.js';
import { RetentionJob } from '../../src/retention/retention.job.js';

const SIZE = 100;

/**
 * A database stand-in (the PGlite path: no pool, statements through Prisma)
 * whose refresh_tokens table has `fullBatches` full batches and then a short
 * one; every other table is empty. Each statement "takes" `batchMs` on the
 * fake clock.
 */
function setup(opts: { fullBatches: number; batchMs: number; duty: number }) {
  let now = 0;
  const calls: { text: string; values: unknown[] }[] = [];
  const pauses: number[] = [];
  let served = 0;
  const db = {
    pool: undefined,
    prisma: {
      $queryRawUnsafe: (text: string, ...values: unknown[]) => {
        calls.push({ text, values });
        now += opts.batchMs;
        if (!/DELETE FROM refresh_tokens /.test(text))
          return Promise.resolve([{ n: 0, last: null }]);
        served++;
        const n = served <= opts.fullBatches ? SIZE : 7;
        return Promise.resolve([{ n, last: `0190000${served}-0000-7000-8000-000000000000` }]);
      },
    },
  } as unknown as Database;
  const env = {
    RETENTION_BATCH_SIZE: SIZE,
    RETENTION_DUTY_CYCLE: opts.duty,
    REFRESH_TOKEN_TTL: 7 * 86_400_000,
    SESSION_RETENTION: 86_400_000,
    MAIL_RETENTION: 7 * 86_400_000,
    AUDIT_RETENTION: 90 * 86_400_000,
  } as Env;
  const job = new RetentionJob(db, env, {
    clock: () => now,
    sleep: (ms) => {
      pauses.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  const tokenCalls = () => calls.filter((c) => /DELETE FROM refresh_tokens /.test(c.text));
  return { job, pauses, tokenCalls, calls };
}

describe('RetentionJob: batches that stay out of the requests’ way', () => {
  it('each batch starts at the last key the one before deleted, not at the start of the index', async () => {
    const { job, tokenCalls } = setup({ fullBatches: 3, batchMs: 30, duty: 0.2 });
    const r = await job.run({ now: Date.UTC(2026, 11, 7) });
    expect(r.deleted.refreshTokens).toBe(3 * SIZE + 7);
    const calls = tokenCalls();
    expect(calls).toHaveLength(4);
    // The first batch has no lower bound: it starts at the smallest id.
    expect(calls[0].text).not.toMatch(/>=/);
    expect(calls[0].values).toHaveLength(3);
    expect(calls[0].text).toMatch(/ORDER BY id LIMIT \$1::int FOR UPDATE SKIP LOCKED/);
    // Every later one starts at the largest id the batch before it deleted.
    for (let i = 1; i < 4; i++) {
      expect(calls[i].text).toMatch(/AND id >= \$4::uuid/);
      expect(calls[i].values).toHaveLength(4);
      expect(calls[i].values[3]).toBe(`0190000${i}-0000-7000-8000-000000000000`);
    }
  });

  it('pauses after each full batch so that it keeps the database busy RETENTION_DUTY_CYCLE of the time', async () => {
    const { job, pauses } = setup({ fullBatches: 3, batchMs: 30, duty: 0.2 });
    await job.run();
    // 30 ms of work at a duty cycle of 0.2: 120 ms of pause; none after the last, short batch.
    expect(pauses).toEqual([120, 120, 120]);
  });

  it('scales the pause with the batch’s own time and the duty cycle, never under 10 ms', async () => {
    const half = setup({ fullBatches: 2, batchMs: 50, duty: 0.5 });
    await half.job.run();
    expect(half.pauses).toEqual([50, 50]);
    const full = setup({ fullBatches: 2, batchMs: 50, duty: 1 });
    await full.job.run();
    expect(full.pauses).toEqual([10, 10]);
  });

  it('orders each table by the indexed column its rule selects on', async () => {
    const { job, calls } = setup({ fullBatches: 0, batchMs: 1, duty: 0.2 });
    await job.run();
    const orderOf = (table: string) =>
      calls
        .find((c) => c.text.includes(`DELETE FROM ${table} `))
        ?.text.match(/ORDER BY (\w+)/)?.[1];
    expect(orderOf('refresh_tokens')).toBe('id');
    expect(orderOf('sessions')).toBe('expires_at');
    expect(orderOf('account_tokens')).toBe('expires_at');
    expect(orderOf('mfa_challenges')).toBe('expires_at');
    expect(orderOf('mail_outbox')).toBe('created_at');
    expect(orderOf('security_events')).toBe('created_at');
  });
});
