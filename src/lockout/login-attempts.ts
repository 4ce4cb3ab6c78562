import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';

/**
 * Failed attempts per account: the normalised email for logins (known or
 * not, so the limit tells nothing about which emails exist), or another key
 * a caller chooses (`change-password:<user id>`).
 *
 * An attempt is reserved BEFORE the password is checked: `reserve` counts it
 * atomically and refuses once AUTH_LOGIN_MAX_FAILURES attempts were counted
 * inside AUTH_LOGIN_FAILURE_WINDOW (the window starts with the first one), so
 * a burst of concurrent guesses gets at most that many password checks. A
 * success calls `clear`, which forgets the account's attempts.
 */
/** The answer of `reserve`. */
export interface Reservation {
  /** 0: the attempt may go ahead (it is counted). Else: seconds until one may. */
  retryAfterSeconds: number;
  /** Attempts left in the window after this one (0: this one was the last). */
  remaining: number;
}

export abstract class LoginAttemptStore {
  abstract reserve(account: string): Promise<Reservation>;
  /** Counts a failure that was not reserved (a wrong code after a reserved password check). */
  abstract recordFailure(account: string): Promise<void>;
  abstract clear(account: string): Promise<void>;
  /**
   * Seconds until `reserve` would let an attempt of this account through (0:
   * now), counting nothing: what a refusal by another limit adds to its
   * retryAfter (GqlThrottlerGuard), so that it is the time until the call
   * could succeed.
   */
  abstract lockedFor(account: string): Promise<number>;
}

interface Entry {
  failures: number;
  resetAt: number;
}

/**
 * One process's memory: fine for a single instance; REDIS_URL shares it
 * across instances. At most AUTH_LOGIN_TRACKED_MAX accounts are kept, least
 * recently used first out, and every call is O(1): a Map in use order (an
 * entry used is moved to the end; the oldest is the first key), expired
 * entries replaced when next used. Nothing ever scans the whole map, however
 * many distinct emails a flood tries.
 *
 * What the cap costs: an account's count can be pushed out by
 * AUTH_LOGIN_TRACKED_MAX other accounts used after it (and its lock with
 * it), which at the per-IP limit takes a flood far longer than the lock's
 * window.
 */
@Injectable()
export class MemoryLoginAttemptStore extends LoginAttemptStore {
  private readonly entries = new Map<string, Entry>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly capacity: number;

  constructor(config: AppConfig) {
    super();
    this.max = config.env.AUTH_LOGIN_MAX_FAILURES;
    this.windowMs = config.env.AUTH_LOGIN_FAILURE_WINDOW;
    this.capacity = config.env.AUTH_LOGIN_TRACKED_MAX;
  }

  async reserve(account: string): Promise<Reservation> {
    const e = this.entry(account);
    if (e.failures >= this.max) {
      return {
        retryAfterSeconds: Math.max(1, Math.ceil((e.resetAt - Date.now()) / 1000)),
        remaining: 0,
      };
    }
    e.failures++;
    return { retryAfterSeconds: 0, remaining: this.max - e.failures };
  }

  async recordFailure(account: string): Promise<void> {
    this.entry(account).failures++;
  }

  async clear(account: string): Promise<void> {
    this.entries.delete(account);
  }

  async lockedFor(account: string): Promise<number> {
    // read only: neither counted nor moved in the use order
    const e = this.entries.get(account);
    const ms = e && e.failures >= this.max ? e.resetAt - Date.now() : 0;
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  /** How many accounts are tracked (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** The live entry of an account, now the most recently used (a new one when absent or expired). */
  private entry(account: string): Entry {
    const now = Date.now();
    let e = this.entries.get(account);
    if (e) this.entries.delete(account);
    if (!e || e.resetAt <= now) {
      e = { failures: 0, resetAt: now + this.windowMs };
      if (this.entries.size >= this.capacity) {
        // The least recently used account: the first key in the Map's order.
        this.entries.delete(this.entries.keys().next().value!);
      }
    }
    this.entries.set(account, e);
    return e;
  }
}

/**
 * Counts in Redis, shared by every instance (REDIS_URL). The key is a hash of
 * the account, so no email is stored in Redis. Each call is one atomic script.
 * When Redis does not answer, calls reject after REDIS_COMMAND_TIMEOUT: login
 * and changePassword then fail closed (INTERNAL_SERVER_ERROR), never open.
 */
export class RedisLoginAttemptStore extends LoginAttemptStore {
  private readonly max: number;
  private readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    config: AppConfig,
  ) {
    super();
    this.max = config.env.AUTH_LOGIN_MAX_FAILURES;
    this.windowMs = config.env.AUTH_LOGIN_FAILURE_WINDOW;
  }

  async reserve(account: string): Promise<Reservation> {
    const [waitMs, n] = (await this.redis.eval(
      RESERVE,
      1,
      this.key(account),
      this.max,
      this.windowMs,
    )) as [number, number];
    if (waitMs > 0)
      return { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), remaining: 0 };
    return { retryAfterSeconds: 0, remaining: Math.max(0, this.max - n) };
  }

  async recordFailure(account: string): Promise<void> {
    await this.redis.eval(RECORD_FAILURE, 1, this.key(account), this.windowMs);
  }

  async clear(account: string): Promise<void> {
    await this.redis.del(this.key(account));
  }

  async lockedFor(account: string): Promise<number> {
    const ms = (await this.redis.eval(LOCKED_FOR, 1, this.key(account), this.max)) as number;
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  private key(account: string): string {
    return `login-failures:${createHash('sha256').update(account).digest('hex')}`;
  }
}

/** The window starts with the first attempt (the same as the in-memory store). */
const START_WINDOW = `
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV])
end`;

/** ARGV: max, window ms. Returns {0, attempts counted} (reserved) or {ms until the window ends, n}. */
const RESERVE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then return { ttl, n } end
end
n = redis.call('INCR', KEYS[1])
${START_WINDOW}
return { 0, n }`;

/** ARGV: window ms. */
const RECORD_FAILURE = `
local n = redis.call('INCR', KEYS[1])
${START_WINDOW}
return n`;

/** ARGV: max. Returns the ms until the window ends when its attempts are spent, else 0. */
const LOCKED_FOR = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then return ttl end
end
return 0`;
