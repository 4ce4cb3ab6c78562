import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError, ErrorCode } from '../../src/common/errors.js';
import { defaultHashConcurrency } from '../../src/config/app-config.js';
import { HashQueue, type HashLane } from '../../src/passwords/hash-queue.js';

/** A job that runs until the test releases it. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, done };
}

/** Lets every settled promise's callbacks run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

function tracked(queue: HashQueue, lane: HashLane, log: string[], name: string) {
  const g = gate();
  const p = queue.run(lane, async () => {
    log.push(`start ${name}`);
    await g.done;
    log.push(`end ${name}`);
    return name;
  });
  return { ...g, p };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('HashQueue: one bounded queue for all password hashing', () => {
  afterEach(() => vi.useRealTimers());

  it('runs at most `concurrency` jobs at once; the others start in arrival order as slots free', async () => {
    const q = new HashQueue({ concurrency: 2, maxQueued: 10, maxWaitMs: 60_000 });
    const log: string[] = [];
    const jobs = ['a', 'b', 'c', 'd'].map((n) => tracked(q, 'default', log, n));
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    expect(q.stats()).toMatchObject({ running: 2, queued: { default: 2, trusted: 0 } });
    jobs[1].release();
    await flush();
    expect(log).toEqual(['start a', 'start b', 'end b', 'start c']);
    jobs[0].release();
    jobs[2].release();
    jobs[3].release();
    expect(await Promise.all(jobs.map((j) => j.p))).toEqual(['a', 'b', 'c', 'd']);
    expect(q.stats()).toMatchObject({ running: 0, queued: { default: 0, trusted: 0 }, shed: 0 });
  });

  it('a full lane refuses at once: TOO_MANY_REQUESTS, limit "hashing", retryAfter >= 1; the job never runs', async () => {
    const q = new HashQueue({ concurrency: 1, maxQueued: 2, maxWaitMs: 60_000 });
    const log: string[] = [];
    const running = tracked(q, 'default', log, 'running');
    const waiting = [tracked(q, 'default', log, 'w1'), tracked(q, 'default', log, 'w2')];
    const e = await refusal(q.run('default', async () => log.push('never')));
    expect(e.code).toBe(ErrorCode.TOO_MANY_REQUESTS);
    expect(e.details?.limit).toBe('hashing');
    expect(e.details?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(q.stats().shed).toBe(1);
    running.release();
    waiting.forEach((w) => w.release());
    await Promise.all([running.p, ...waiting.map((w) => w.p)]);
    expect(log).not.toContain('never');
  });

  it('trusted jobs start before default jobs that were waiting longer, and have their own room', async () => {
    const q = new HashQueue({ concurrency: 1, maxQueued: 1, maxWaitMs: 60_000 });
    const log: string[] = [];
    const running = tracked(q, 'default', log, 'running');
    const stranger = tracked(q, 'default', log, 'stranger');
    // The default lane is full, the trusted one is not.
    await refusal(q.run('default', async () => 'refused'));
    const friend = tracked(q, 'trusted', log, 'friend');
    running.release();
    await flush();
    expect(log).toEqual(['start running', 'end running', 'start friend']);
    friend.release();
    stranger.release();
    await Promise.all([friend.p, stranger.p]);
    expect(log.slice(3)).toEqual(['end friend', 'start stranger', 'end stranger']);
  });

  it('a job that waited PASSWORD_HASH_MAX_WAIT is refused then and never runs; the queue goes on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const q = new HashQueue({ concurrency: 1, maxQueued: 10, maxWaitMs: 1000 });
    const log: string[] = [];
    const running = tracked(q, 'default', log, 'running');
    const late = tracked(q, 'default', log, 'late');
    const lateResult = refusal(late.p);
    vi.advanceTimersByTime(1000);
    const e = await lateResult;
    expect(e.code).toBe(ErrorCode.TOO_MANY_REQUESTS);
    expect(e.details?.limit).toBe('hashing');
    expect(q.stats().queued.default).toBe(0);
    const next = tracked(q, 'default', log, 'next');
    running.release();
    await flush();
    next.release();
    expect(await next.p).toBe('next');
    expect(log).toEqual(['start running', 'end running', 'start next', 'end next']);
  });

  it('refuses at arrival when the measured hash time says the wait would pass the bound', async () => {
    let clock = 0;
    const q = new HashQueue({ concurrency: 1, maxQueued: 100, maxWaitMs: 1000, now: () => clock });
    // One measured hash of 400 ms.
    const first = gate();
    const p = q.run('default', () => first.done);
    clock += 400;
    first.release();
    await p;
    const log: string[] = [];
    const running = tracked(q, 'default', log, 'running');
    // Ahead of a new job: the running one (and each admitted one): 400 ms each.
    const admitted = [tracked(q, 'default', log, 'w1'), tracked(q, 'default', log, 'w2')];
    // running + 2 waiting = 1200 ms > 1000 ms: refused, with the time until it would fit.
    const e = await refusal(q.run('default', async () => 'refused'));
    expect(e.details?.limit).toBe('hashing');
    expect(e.details?.retryAfterSeconds).toBe(1);
    // A trusted job has only the running one ahead: admitted.
    const trusted = tracked(q, 'trusted', log, 'trusted');
    for (const j of [running, trusted, ...admitted]) j.release();
    await Promise.all([running.p, trusted.p, ...admitted.map((j) => j.p)]);
  });

  it('the default concurrency leaves a core and a libuv thread free, and is at least 1', () => {
    expect(defaultHashConcurrency(2, 4)).toBe(1);
    expect(defaultHashConcurrency(1, 4)).toBe(1);
    expect(defaultHashConcurrency(4, 4)).toBe(3);
    expect(defaultHashConcurrency(16, 4)).toBe(3);
    expect(defaultHashConcurrency(16, 8)).toBe(7);
  });
});
