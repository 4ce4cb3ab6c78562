import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { mfaTokenHash, newMfaToken } from './codes.js';
import { MfaRepository } from './mfa.repository.js';

/**
 * The second step of a login: after the right password for an account with
 * a second factor, login opens no session but starts a challenge and answers
 * MFA_REQUIRED with its mfaToken (256 random bits; only its SHA-256 is
 * stored; single use, MFA_CHALLENGE_TTL, 5 tries). The challenge carries the
 * credentials version that was checked: a password change, a reset, a
 * disabled account or a second factor turned off meanwhile, and no session
 * comes of it.
 */
@Injectable()
export class MfaChallenges {
  constructor(
    private readonly config: AppConfig,
    private readonly repo: MfaRepository,
  ) {}

  /** A new mfaToken for a user whose password was just checked at `credentialsVersion`. */
  async start(user: { id: string; credentialsVersion: number }): Promise<string> {
    const token = newMfaToken();
    await this.repo.createChallenge({
      userId: user.id,
      tokenHash: mfaTokenHash(token),
      credentialsVersion: user.credentialsVersion,
      expiresAt: new Date(Date.now() + this.config.env.MFA_CHALLENGE_TTL),
    });
    return token;
  }
}
