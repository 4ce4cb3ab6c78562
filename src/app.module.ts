import { Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import type { ValidationError } from 'class-validator';
import { AuthModule } from './auth/auth.module.js';
import { AppError } from './common/errors.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import type { Database } from './database/prisma.js';
import { ApiExceptionFilter } from './graphql/error-mapping.js';
import { graphqlOptions } from './graphql/graphql.options.js';
import { HealthModule } from './health/health.module.js';
import { REDIS, RedisModule } from './redis/redis.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { UsersModule } from './users/users.module.js';

function fieldProblems(
  errors: ValidationError[],
  prefix = '',
): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldProblems(e.children ?? [], field)];
  });
}

@Module({})
export class AppModule {
  /**
   * No nestjs-pino LoggerModule: its Nest middleware (run through
   * @fastify/middie) re-entered the logging context on every request. The
   * request context and the request line are Fastify hooks
   * (logging/logging.module.ts), and Nest's Logger is routed to pino in
   * app.factory.ts.
   */
  static forRoot(config: AppConfig, db: Database): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(db),
        RedisModule.forRoot(config),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          ...graphqlOptions(config),
        }),
        ThrottlerModule.forRootAsync({
          inject: [REDIS],
          useFactory: (redis: Redis | null) => ({
            throttlers: [
              {
                name: 'auth',
                ttl: config.env.AUTH_RATE_LIMIT_WINDOW,
                limit: config.env.AUTH_RATE_LIMIT,
              },
            ],
            // With REDIS_URL the counters are shared by every instance (one atomic
            // script per call); a Redis that does not answer fails the call (closed).
            storage: redis ? new ThrottlerStorageRedisService(redis) : undefined,
          }),
        }),
        UsersModule,
        SessionsModule,
        AuthModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            transform: false,
            forbidUnknownValues: false,
            exceptionFactory: (errors) => AppError.badInput(fieldProblems(errors)),
          }),
        },
      ],
    };
  }
}
