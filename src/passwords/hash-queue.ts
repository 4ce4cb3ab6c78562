import { AppError } from '../common/errors.js';

/**
 * Which queue a hash waits in. `trusted`: a login from a device that logged
 * in to that account before (a valid device token); it is served before any
 * `default` job, so a flood of strangers' guesses cannot make a returning
 * user wait for them. Everything else (register, unknown devices, password
 * changes and resets, the dummy compare of unknown emails) is `default`.
 */
export type HashLane = 'trusted' | 'default';

export interface HashQueueOptions {
  /** How many hashes run at once (each one occupies a core for its whole time). */
  concurrency: number;
  /** How many jobs may wait in each lane; one more is refused at once. */
  maxQueued: number;
  /** No job waits longer than this (ms): one that would is refused when it asks, or when its time is up. */
  maxWaitMs: number;
  /** The clock that measures hash times (tests give their own). */
  now?: () => number;
}

export interface HashQueueStats {
  running: number;
  queued: Record<HashLane, number>;
  /** Refused since start: at arrival (queue full or expected wait over the bound) or after waiting maxWaitMs. */
  shed: number;
  /** Average time of one hash (ms), measured; undefined before the first one finished. */
  serviceMs: number | undefined;
}

interface Job {
  start: () => void;
  timer: NodeJS.Timeout | undefined;
  /** Set when its wait bound passed: it is skipped when it reaches the head. */
  cancelled: boolean;
}

/** The `extensions.limit` of a refusal by the queue. */
export const HASHING_LIMIT = 'hashing';

/**
 * The one queue of all password hashing (bcrypt hash and compare): at most
 * `concurrency` at once, the rest wait in two FIFO lanes (trusted first).
 * It sheds instead of letting waits grow: a job is refused at once with
 * TOO_MANY_REQUESTS (extensions.limit `hashing`, retryAfter) when its lane
 * is full or when the measured hash time says it would wait longer than
 * maxWaitMs; a job still waiting after maxWaitMs (trusted jobs went first)
 * is refused then. Work per call is O(1) (array queues with a head index).
 */
export class HashQueue {
  private running = 0;
  private readonly lanes: Record<HashLane, Lane> = { trusted: new Lane(), default: new Lane() };
  private serviceEwma: number | undefined;
  private shedCount = 0;
  private readonly now: () => number;

  constructor(private readonly opts: HashQueueOptions) {
    if (!(opts.concurrency >= 1)) throw new Error('HashQueue: concurrency must be at least 1');
    this.now = opts.now ?? (() => performance.now());
  }

  /** Runs `work` when a slot is free (at once if one is), or refuses it (AppError TOO_MANY_REQUESTS). */
  run<T>(lane: HashLane, work: () => Promise<T>): Promise<T> {
    if (this.startsAtOnce(lane)) return this.execute(work);
    const refused = this.refusedAtArrival(lane);
    if (refused !== null) return Promise.reject(this.refusal(refused));
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        timer: undefined,
        cancelled: false,
        start: () => {
          clearTimeout(job.timer);
          this.execute(work).then(resolve, reject);
        },
      };
      job.timer = setTimeout(() => {
        this.lanes[lane].cancel(job);
        reject(this.refusal(this.expectedWaitMs(lane)));
      }, this.opts.maxWaitMs);
      // A waiting job never keeps the process alive on its own.
      job.timer.unref?.();
      this.lanes[lane].push(job);
    });
  }

  /**
   * Throws the refusal a job of `lane` would get if it arrived now, so that a
   * caller can refuse before its other work (a login before it reads the
   * user). run() checks again when the job does arrive.
   */
  admitOrThrow(lane: HashLane): void {
    if (this.startsAtOnce(lane)) return;
    const refused = this.refusedAtArrival(lane);
    if (refused !== null) throw this.refusal(refused);
  }

  /** A job of `lane` arriving now would start at once: a slot is free and nothing waits ahead. */
  private startsAtOnce(lane: HashLane): boolean {
    return this.running < this.opts.concurrency && this.waitingAhead(lane) === 0;
  }

  /** The expected wait of a job of `lane` arriving now when it would be refused (lane full, or over maxWaitMs); else null. */
  private refusedAtArrival(lane: HashLane): number | null {
    const expected = this.expectedWaitMs(lane);
    return this.lanes[lane].size >= this.opts.maxQueued || expected > this.opts.maxWaitMs
      ? expected
      : null;
  }

  stats(): HashQueueStats {
    return {
      running: this.running,
      queued: { trusted: this.lanes.trusted.size, default: this.lanes.default.size },
      shed: this.shedCount,
      serviceMs: this.serviceEwma,
    };
  }

  /** Jobs that would start before a new one of `lane`. */
  private waitingAhead(lane: HashLane): number {
    return lane === 'trusted'
      ? this.lanes.trusted.size
      : this.lanes.trusted.size + this.lanes.default.size;
  }

  /**
   * How long a new job of `lane` would wait: the jobs ahead of it, and the
   * running ones, shared among the slots, at the measured time per hash (0
   * until one hash was measured: then only the lane's length bounds it).
   */
  private expectedWaitMs(lane: HashLane): number {
    if (this.serviceEwma === undefined) return 0;
    const ahead = this.waitingAhead(lane) + this.running;
    return (Math.floor(ahead / this.opts.concurrency) * this.serviceEwma) | 0;
  }

  /** retryAfter: about when a job of this lane would be admitted again (at least 1 s). */
  private refusal(expectedWaitMs: number): AppError {
    this.shedCount++;
    const overMs = Math.max(expectedWaitMs - this.opts.maxWaitMs, this.serviceEwma ?? 0);
    return AppError.tooManyRequests(
      Math.max(1, Math.ceil(overMs / 1000)),
      HASHING_LIMIT,
      'The server is busy checking passwords: try again in a moment',
    );
  }

  private async execute<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    const started = this.now();
    try {
      return await work();
    } finally {
      const took = this.now() - started;
      this.serviceEwma =
        this.serviceEwma === undefined ? took : this.serviceEwma * 0.8 + took * 0.2;
      this.running--;
      this.next();
    }
  }

  private next(): void {
    while (this.running < this.opts.concurrency) {
      const job = this.lanes.trusted.shift() ?? this.lanes.default.shift();
      if (!job) return;
      job.start();
    }
  }
}

/**
 * A FIFO with O(1) push, shift and cancel: a cancelled job (its wait bound
 * passed) stays in the array, marked, and is skipped when it reaches the head.
 */
class Lane {
  private items: (Job | undefined)[] = [];
  private head = 0;
  /** Waiting jobs, cancelled ones not counted. */
  size = 0;

  push(job: Job): void {
    this.items.push(job);
    this.size++;
  }

  shift(): Job | undefined {
    while (this.head < this.items.length) {
      const job = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        // Never empty under a steady backlog: drop the consumed front (amortised O(1)).
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (job && !job.cancelled) {
        this.size--;
        return job;
      }
    }
    return undefined;
  }

  /** Called only for a job still waiting (a started job's timer was cleared). */
  cancel(job: Job): void {
    job.cancelled = true;
    this.size--;
  }
}
