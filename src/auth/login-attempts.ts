import { Injectable } from '@nestjs/common';
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
