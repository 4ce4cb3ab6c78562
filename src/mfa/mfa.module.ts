import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AppConfig } from '../config/app-config.js';
import { LockoutModule } from '../lockout/lockout.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { EnrollmentService } from './enrollment.service.js';
import { MfaChallengesModule } from './mfa-challenges.module.js';
import { MfaKeyRotation } from './mfa-key-rotation.js';
import { MfaResolver } from './mfa.resolver.js';
import { SecondFactorService } from './second-factor.service.js';
import { loadSecretCipher, SecretCipher } from './secret-cipher.js';
import { VerifyMfaService } from './verify-mfa.service.js';

/**
 * The second factor (TOTP, RFC 6238, with recovery codes): enrolment and its
 * management (EnrollmentService), the code check (SecondFactorService), the
 * login's second step (VerifyMfaService; the first, MFA_REQUIRED, is in
 * LoginService through MfaChallengesModule), the secrets' encryption
 * (SecretCipher) and its key rotation (MfaKeyRotation).
 */
@Module({
  imports: [AuthModule, MfaChallengesModule, LockoutModule, SessionsModule, UsersModule],
  providers: [
    { provide: SecretCipher, inject: [AppConfig], useFactory: loadSecretCipher },
    MfaResolver,
    EnrollmentService,
    SecondFactorService,
    VerifyMfaService,
    MfaKeyRotation,
  ],
})
export class MfaModule {}
