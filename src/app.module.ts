import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { AccountModule } from './account/account.module.js';
import { AdminModule } from './admin/admin.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { throttlers } from './auth/guards/gql-throttler.guard.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import type { Database } from './database/prisma.js';
import { ApiExceptionFilter } from './graphql/error-mapping.js';
import { graphqlOptions } from './graphql/graphql.options.js';
import { InputPipe } from './graphql/input.pipe.js';
import { HealthModule } from './health/health.module.js';
import type { KeySet } from './keys/key-set.js';
import { KeysModule } from './keys/keys.module.js';
import { MailModule } from './mail/mail.module.js';
import { MfaModule } from './mfa/mfa.module.js';
import { REDIS, RedisModule } from './redis/redis.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { UsersModule } from './users/users.module.js';

@Module({})
export class AppModule {
  /**
   * No nestjs-pino LoggerModule: its Nest middleware (run through
   * @fastify/middie) re-entered the logging context on every request. The
   * request context and the request line are Fastify hooks
   * (logging/logger.ts), and Nest's Logger is routed to pino in
   * app.factory.ts.
   */
  static forRoot(config: AppConfig, db: Database, keys: KeySet): DynamicModule {
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
            // Which limits exist and what they count: auth/guards/gql-throttler.guard.ts.
            throttlers: throttlers(config),
            // The guard's refusal carries retryAfter; the exception filter sends it as
            // the standard Retry-After header (not the library's Retry-After-<name>).
            setHeaders: false,
            // With REDIS_URL the counters are shared by every instance (one atomic
            // script per call); a Redis that does not answer fails the call (closed).
            storage: redis ? new ThrottlerStorageRedisService(redis) : undefined,
          }),
        }),
        KeysModule.forRoot(keys),
        AuditModule,
        UsersModule,
        SessionsModule,
        AuthModule,
        AdminModule,
        MailModule,
        RetentionModule,
        AccountModule,
        MfaModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        // Every argument of every resolver is validated (graphql/input.pipe.ts).
        { provide: APP_PIPE, useClass: InputPipe },
      ],
    };
  }
}
