import { Module } from '@nestjs/common';
import { MfaChallenges } from './mfa-challenges.js';
import { MfaRepository } from './mfa.repository.js';

/**
 * The part of the second factor that login needs (starting a challenge) and
 * the repository: apart from MfaModule, which needs AuthModule's session
 * issuer for verifyMfa, so that AuthModule can import this one without a cycle.
 */
@Module({
  providers: [MfaRepository, MfaChallenges],
  exports: [MfaRepository, MfaChallenges],
})
export class MfaChallengesModule {}
