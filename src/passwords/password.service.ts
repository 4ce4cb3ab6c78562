import { createHmac, randomBytes } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { AppConfig } from '../config/app-config.js';

/**
 * Fixed key of the pre-hash. It is not a secret (a pepper would make every
 * hash unusable if the key changed); it only makes the bcrypt input a fixed
 * 44-character ASCII string, so every character of any password counts
 * (bcrypt alone ignores everything past 72 bytes) and no NUL byte reaches
 * bcrypt (base64, never the raw digest).
 */
const PREHASH_KEY = 'auth-api/password-prehash/v1';

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
