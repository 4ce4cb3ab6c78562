import { createHmac, randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { normalisePassword } from '../common/rules.js';
import { AppConfig } from '../config/app-config.js';
import { HashQueue, type HashLane } from './hash-queue.js';

/**
 * Fixed key of the pre-hash. It is not a secret (a pepper would make every
 * hash unusable if the key changed); it only makes the bcrypt input a fixed
 * 44-character ASCII string, so every character of any password counts
 * (bcrypt alone ignores everything past 72 bytes) and no NUL byte reaches
 * bcrypt (base64, never the raw digest).
 */
const PREHASH_KEY = 'auth-api/password-prehash/v1';

/**
 * Password hashing for every feature that sets or checks one. Every bcrypt
 * call (hash, compare, the dummy compare of unknown emails) goes through one
 * bounded HashQueue (PASSWORD_HASH_CONCURRENCY at once, the rest waiting at
 * most PASSWORD_HASH_MAX_WAIT, then TOO_MANY_REQUESTS), so no number of
 * concurrent logins, registrations or aliased changePassword calls can take
 * more cores than that, and a flood is refused fast instead of queueing.
 */
@Injectable()
export class PasswordService implements OnModuleInit {
  private readonly logger = new Logger('Passwords');
  private dummyHash: Promise<string> | undefined;
  readonly queue: HashQueue;

  constructor(private readonly config: AppConfig) {
    this.queue = new HashQueue({
      concurrency: config.passwordHashConcurrency,
      maxQueued: config.env.PASSWORD_HASH_QUEUE,
      maxWaitMs: config.env.PASSWORD_HASH_MAX_WAIT,
    });
  }

  onModuleInit(): void {
    this.logger.log({
      event: 'password_hashing',
      bcryptRounds: this.config.env.BCRYPT_ROUNDS,
      concurrency: this.config.passwordHashConcurrency,
      maxQueuedPerLane: this.config.env.PASSWORD_HASH_QUEUE,
      maxWaitMs: this.config.env.PASSWORD_HASH_MAX_WAIT,
    });
    // Computed once, in the background, at the configured cost: unknown emails
    // are compared against it so they take as long as a wrong password. It
    // also gives the queue its first measured hash time.
    this.dummy().catch(() => {});
  }

  private prehash(password: string): string {
    return createHmac('sha256', PREHASH_KEY)
      .update(normalisePassword(password), 'utf8')
      .digest('base64');
  }

  /** A new hash at BCRYPT_ROUNDS. Refused (TOO_MANY_REQUESTS, limit `hashing`) when the queue is full. */
  hash(password: string, lane: HashLane = 'default'): Promise<string> {
    const input = this.prehash(password);
    return this.queue.run(lane, () => bcrypt.hash(input, this.config.env.BCRYPT_ROUNDS));
  }

  /** Throws now the TOO_MANY_REQUESTS (limit `hashing`) a hash of `lane` would get: before work it would waste. */
  admitOrThrow(lane: HashLane = 'default'): void {
    this.queue.admitOrThrow(lane);
  }

  verify(password: string, hash: string, lane: HashLane = 'default'): Promise<boolean> {
    const input = this.prehash(password);
    return this.queue.run(lane, () => bcrypt.compare(input, hash));
  }

  /** One bcrypt compare that always fails, for unknown users (same lane, same cost as a real one). */
  async verifyDummy(password: string, lane: HashLane = 'default'): Promise<false> {
    const dummy = await this.dummy();
    const input = this.prehash(password);
    await this.queue.run(lane, () => bcrypt.compare(input, dummy));
    return false;
  }

  /**
   * True when a stored hash was made at another cost than BCRYPT_ROUNDS (or
   * is not a bcrypt hash this code reads): a successful login then stores a
   * new one, so old hashes do not keep an old cost forever and a known
   * email's check takes as long as the dummy compare of an unknown one.
   */
  needsRehash(hash: string): boolean {
    const m = /^\$2[aby]\$(\d{2})\$/.exec(hash);
    return !m || Number(m[1]) !== this.config.env.BCRYPT_ROUNDS;
  }

  private dummy(): Promise<string> {
    if (!this.dummyHash) {
      const p = this.queue.run('default', () =>
        bcrypt.hash(randomBytes(32).toString('base64'), this.config.env.BCRYPT_ROUNDS),
      );
      this.dummyHash = p;
      // A refusal (queue full) is not kept: the next caller tries again.
      p.catch(() => {
        if (this.dummyHash === p) this.dummyHash = undefined;
      });
    }
    return this.dummyHash;
  }
}
