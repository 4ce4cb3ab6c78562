import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';

/** The shared Redis client, or null when REDIS_URL is unset (single instance, in memory). */
export const REDIS = Symbol('REDIS');

const logger = new Logger('Redis');

/**
 * One ioredis client for the rate limits and the failed-login counts.
 *
 * Failure behaviour: a command that gets no answer within
 * REDIS_COMMAND_TIMEOUT is rejected (also while Redis is down and the client
 * reconnects: commands wait in the offline queue at most that long), so the
 * operations that need Redis fail fast and closed. The client keeps
 * reconnecting in the background and the API recovers by itself.
 */
export function createRedisClient(config: AppConfig): Redis {
  const client = new Redis(config.env.REDIS_URL!, {
    keyPrefix: config.env.REDIS_KEY_PREFIX,
    connectionName: 'auth-api',
    connectTimeout: config.env.REDIS_COMMAND_TIMEOUT,
    commandTimeout: config.env.REDIS_COMMAND_TIMEOUT,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  let down = false;
  client.on('error', (err: Error) => {
    // Logged once per outage; ioredis emits one per reconnect attempt.
    if (!down) logger.error({ event: 'redis_error', message: err.message });
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.log({ event: 'redis_reconnected' });
    down = false;
  });
  return client;
}

@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS,
          useFactory: () => (config.env.REDIS_URL ? createRedisClient(config) : null),
        },
      ],
      exports: [REDIS],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
