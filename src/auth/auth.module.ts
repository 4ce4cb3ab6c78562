import { Module } from '@nestjs/common';
import { AccountModule } from '../account/account.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { LockoutModule } from '../lockout/lockout.module.js';
import { MfaChallengesModule } from '../mfa/mfa-challenges.module.js';
import { PasswordsModule } from '../passwords/passwords.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthResolver } from './auth.resolver.js';
import { ChangePasswordService } from './change-password.service.js';
import { CredentialsService } from './credentials.service.js';
import { LoginService } from './login.service.js';
import { LogoutService } from './logout.service.js';
import { RefreshService } from './refresh.service.js';
import { RefreshTokenTransport } from './refresh-cookie.js';
import { RegisterService } from './register.service.js';
import { SessionIssuer } from './session-issuer.service.js';
import { JwtStrategy } from './strategies/jwt.strategy.js';
import { TokenService } from './token.service.js';

/**
 * Register, login, refresh, logout, change password: one use case each, the
 * session issuer they share, the token service and the Bearer strategy.
 */
@Module({
  imports: [
    UsersModule,
    SessionsModule,
    PasswordsModule,
    LockoutModule,
    DevicesModule,
    AccountModule,
    MfaChallengesModule,
  ],
  providers: [
    AuthResolver,
    RegisterService,
    LoginService,
    RefreshService,
    LogoutService,
    ChangePasswordService,
    CredentialsService,
    SessionIssuer,
    TokenService,
    JwtStrategy,
    RefreshTokenTransport,
  ],
  exports: [TokenService, SessionIssuer, RefreshTokenTransport],
})
export class AuthModule {}
