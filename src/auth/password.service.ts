import { createHmac, randomBytes } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { AppConfig } from '../config/app-config.js';
import type { FieldProblem } from '../common/errors.js';

export const PASSWORD_MIN_CHARS = 8;
/** Generous for passphrases and password managers; anything longer is refused before hashing. */
export const PASSWORD_MAX_CHARS = 1024;
const PASSWORD_MAX_BYTES = 4096;

/**
 * Fixed key of the pre-hash. It is not a secret (a pepper would make every
 * hash unusable if the key changed); it only makes the bcrypt input a fixed
 * 44-character ASCII string, so every character of any password counts
 * (bcrypt alone ignores everything past 72 bytes) and no NUL byte reaches
 * bcrypt (base64, never the raw digest).
 */
const PREHASH_KEY = 'auth-api/password-prehash/v1';

/** Code points, not UTF-16 units: an emoji is one character. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

@Injectable()
export class PasswordService implements OnModuleInit {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly config: AppConfig) {}

  onModuleInit(): void {
    // Computed once, in the background, at the configured cost: unknown emails
    // are compared against it so they take as long as a wrong password.
    void this.dummy();
  }

  /** The same normalisation on register, login and change: NFKC, as NIST SP 800-63B suggests. */
  private prehash(password: string): string {
    return createHmac('sha256', PREHASH_KEY)
      .update(password.normalize('NFKC'), 'utf8')
      .digest('base64');
  }

  /** Problems with a new password, or [] when it is acceptable. */
  check(password: string, field = 'password'): FieldProblem[] {
    // Size first, on the raw string: an absurd input is refused before any work.
    if (
      password.length > PASSWORD_MAX_CHARS * 2 ||
      Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES
    ) {
      return [{ field, message: `must be at most ${PASSWORD_MAX_CHARS} characters` }];
    }
    const n = charCount(password.normalize('NFKC'));
    if (n < PASSWORD_MIN_CHARS) {
      return [{ field, message: `must be at least ${PASSWORD_MIN_CHARS} characters` }];
    }
    if (n > PASSWORD_MAX_CHARS) {
      return [{ field, message: `must be at most ${PASSWORD_MAX_CHARS} characters` }];
    }
    return [];
  }

  /** True when a password given at login is too big to be anyone's (no hashing then). */
  isAbsurd(password: string): boolean {
    return (
      password.length > PASSWORD_MAX_CHARS * 2 ||
      Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES
    );
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(this.prehash(password), this.config.env.BCRYPT_ROUNDS);
  }

  verify(password: string, hash: string): Promise<boolean> {
    return bcrypt.compare(this.prehash(password), hash);
  }

  /** One bcrypt compare that always fails, for unknown users. */
  async verifyDummy(password: string): Promise<false> {
    await bcrypt.compare(this.prehash(password), await this.dummy());
    return false;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= bcrypt.hash(
      randomBytes(32).toString('base64'),
      this.config.env.BCRYPT_ROUNDS,
    );
    return this.dummyHash;
  }
}
