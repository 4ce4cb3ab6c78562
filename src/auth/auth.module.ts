import { createSecretKey } from 'node:crypto';
import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { REDIS } from '../redis/redis.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthResolver } from './auth.resolver.js';
import { AuthService } from './auth.service.js';
import {
  LoginAttemptStore,
  MemoryLoginAttemptStore,
  RedisLoginAttemptStore,
} from './login-attempts.js';
import { PasswordsModule } from '../passwords/passwords.module.js';
import { RefreshTokenTransport } from './refresh-cookie.js';
import { JwtStrategy } from './strategies/jwt.strategy.js';
import { TokenService } from './token.service.js';

@Module({
  imports: [
    UsersModule,
    SessionsModule,
    PasswordsModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // A KeyObject, not the string: given a string, jsonwebtoken tries to
        // parse it as a PEM key on every sign and verify (about 1 ms of CPU each).
        secret: createSecretKey(Buffer.from(config.jwtAccessSecret)) as unknown as Buffer,
        signOptions: { algorithm: 'HS256' },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  providers: [
    AuthService,
    AuthResolver,
    TokenService,
    JwtStrategy,
    RefreshTokenTransport,
    {
      // Shared in Redis when REDIS_URL is set (several instances), else in memory.
      provide: LoginAttemptStore,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: Redis | null) =>
        redis ? new RedisLoginAttemptStore(redis, config) : new MemoryLoginAttemptStore(config),
    },
  ],
  exports: [TokenService],
})
export class AuthModule {}
