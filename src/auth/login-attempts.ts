import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';

/**
 * Failed logins per account (the normalised email, known or not, so the
 * limit tells nothing about which emails exist). When an account reaches
 * AUTH_LOGIN_MAX_FAILURES inside AUTH_LOGIN_FAILURE_WINDOW, logins for it are
 * refused with TOO_MANY_REQUESTS, before any bcrypt work, until the window
 * that started with the first failure ends. A successful login clears it.
 */
export abstract class LoginAttemptStore {
  /** Seconds until the account may try again, or 0 when it may now. */
  abstract blockedFor(account: string): Promise<number>;
  abstract recordFailure(account: string): Promise<void>;
  abstract clear(account: string): Promise<void>;
}

/** One process's memory: fine for a single instance; REDIS_URL shares it across instances. */
@Injectable()
export class MemoryLoginAttemptStore extends LoginAttemptStore {
  private readonly entries = new Map<string, { failures: number; resetAt: number }>();
  private readonly max: number;
  private readonly windowMs: number;

  constructor(config: AppConfig) {
    super();
    this.max = config.env.AUTH_LOGIN_MAX_FAILURES;
    this.windowMs = config.env.AUTH_LOGIN_FAILURE_WINDOW;
  }

  async blockedFor(account: string): Promise<number> {
    const e = this.live(account);
    return e && e.failures >= this.max ? Math.ceil((e.resetAt - Date.now()) / 1000) : 0;
  }

  async recordFailure(account: string): Promise<void> {
    const e = this.live(account);
    if (e) e.failures++;
    else {
      this.sweep();
      this.entries.set(account, { failures: 1, resetAt: Date.now() + this.windowMs });
    }
  }

  async clear(account: string): Promise<void> {
    this.entries.delete(account);
  }

  private live(account: string) {
    const e = this.entries.get(account);
    if (e && e.resetAt <= Date.now()) {
      this.entries.delete(account);
      return undefined;
    }
    return e;
  }

  /** Bounded memory: drop expired entries once the map grows. */
  private sweep(): void {
    if (this.entries.size < 10_000) return;
    const now = Date.now();
    for (const [k, e] of this.entries) if (e.resetAt <= now) this.entries.delete(k);
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

  async blockedFor(account: string): Promise<number> {
    const [count, pttl] = (await this.redis.eval(BLOCKED_FOR, 1, this.key(account))) as [
      number,
      number,
    ];
    return count >= this.max && pttl > 0 ? Math.ceil(pttl / 1000) : 0;
  }

  async recordFailure(account: string): Promise<void> {
    await this.redis.eval(RECORD_FAILURE, 1, this.key(account), this.windowMs);
  }

  async clear(account: string): Promise<void> {
    await this.redis.del(this.key(account));
  }

  private key(account: string): string {
    return `login-failures:${createHash('sha256').update(account).digest('hex')}`;
  }
}

const BLOCKED_FOR = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
return { n, redis.call('PTTL', KEYS[1]) }`;

/** The window starts with the first failure (the same as the in-memory store). */
const RECORD_FAILURE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`;
