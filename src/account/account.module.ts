import { Module } from '@nestjs/common';
import { LockoutModule } from '../lockout/lockout.module.js';
import { MailModule } from '../mail/mail.module.js';
import { PasswordsModule } from '../passwords/passwords.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountTokensRepository } from './account-tokens.repository.js';
import { AccountResolver } from './account.resolver.js';
import { PasswordResetService } from './password-reset.service.js';
import { VerificationService } from './verification.service.js';

/**
 * Verified addresses and password reset over mail. Exports VerificationService
 * for register (a verification mail in register's transaction). Must not
 * import AuthModule (AuthModule imports this one).
 */
@Module({
  imports: [UsersModule, SessionsModule, PasswordsModule, LockoutModule, MailModule],
  providers: [AccountTokensRepository, VerificationService, PasswordResetService, AccountResolver],
  exports: [VerificationService],
})
export class AccountModule {}
