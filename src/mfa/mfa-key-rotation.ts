import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { MfaRepository } from './mfa.repository.js';
import { SecretCipher } from './secret-cipher.js';

const BATCH = 200;

/**
 * Key rotation of the TOTP secrets (docs/deploying.md): at start, every
 * secret encrypted with another key than MFA_ENCRYPTION_KEY that a key of
 * MFA_DECRYPTION_KEYS decrypts is re-encrypted with the current key
 * (compare-and-swap per row: several instances starting at once do no harm).
 * Secrets no configured key decrypts are counted and logged as an error:
 * their users cannot pass the second step until the key is given back.
 */
@Injectable()
export class MfaKeyRotation implements OnApplicationBootstrap {
  private readonly logger = new Logger('Mfa');

  constructor(
    private readonly repo: MfaRepository,
    private readonly cipher: SecretCipher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const r = await this.rewrapAll();
    if (r.rewrapped) {
      this.logger.log({
        event: 'mfa_secrets_reencrypted',
        count: r.rewrapped,
        keyId: this.cipher.current.id,
      });
    }
    if (r.unreadable) {
      this.logger.error({
        event: 'mfa_secrets_unreadable',
        count: r.unreadable,
        msg: 'TOTP secrets encrypted with a key that is neither MFA_ENCRYPTION_KEY nor in MFA_DECRYPTION_KEYS',
      });
    }
  }

  async rewrapAll(): Promise<{ rewrapped: number; unreadable: number }> {
    let rewrapped = 0;
    let unreadable = 0;
    let after: string | undefined;
    for (;;) {
      const rows = await this.repo.factorsNotUnder(this.cipher.current.id, BATCH, after);
      for (const row of rows) {
        const secret = this.cipher.open(row, row.userId);
        if (secret === null) unreadable++;
        else if (
          await this.repo.rewrap(
            row.userId,
            row.secretEncrypted,
            this.cipher.seal(secret, row.userId),
          )
        )
          rewrapped++;
      }
      if (rows.length < BATCH) return { rewrapped, unreadable };
      after = rows[rows.length - 1].userId;
    }
  }
}
