import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthResolver } from './auth.resolver.js';
import { AuthService } from './auth.service.js';
import { LoginAttemptStore, MemoryLoginAttemptStore } from './login-attempts.js';
import { PasswordService } from './password.service.js';
import { RefreshTokenTransport } from './refresh-cookie.js';
import { JwtStrategy } from './strategies/jwt.strategy.js';
import { TokenService } from './token.service.js';

@Module({
  imports: [
    UsersModule,
    SessionsModule,
    PassportModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtAccessSecret,
        signOptions: { algorithm: 'HS256' },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  providers: [
    AuthService,
    AuthResolver,
    PasswordService,
    TokenService,
    JwtStrategy,
    RefreshTokenTransport,
    { provide: LoginAttemptStore, useClass: MemoryLoginAttemptStore },
  ],
  exports: [TokenService, PasswordService],
})
export class AuthModule {}
