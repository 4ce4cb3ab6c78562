import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { REDIS } from '../redis/redis.module.js';
import {
  LoginAttemptStore,
  MemoryLoginAttemptStore,
  RedisLoginAttemptStore,
} from './login-attempts.js';

/** The per-account attempt limit (failed logins, wrong codes), for every feature that checks a secret. */
@Module({
  providers: [
    {
      // Shared in Redis when REDIS_URL is set (several instances), else in memory.
      provide: LoginAttemptStore,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: Redis | null) =>
        redis ? new RedisLoginAttemptStore(redis, config) : new MemoryLoginAttemptStore(config),
    },
  ],
  exports: [LoginAttemptStore],
})
export class LockoutModule {}
