import { Controller, Get, Inject, Logger } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { PrismaClient } from '../generated/prisma/client.js';
import { REDIS } from '../redis/redis.module.js';

const CHECK_TIMEOUT_MS = 2000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * GET /health: 200 when the database answers, 503 when it does not (the
 * contract). GET /health/live: the process answers (a liveness probe: no
 * dependency, so an outage elsewhere never restarts it). GET /health/ready:
 * the database and, when REDIS_URL is set, Redis (a readiness probe).
 *
 * A failing dependency is reported as "down" with a fixed message; the
 * driver's own text goes to the log, not to the caller.
 */
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaClient,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.database()]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const redis = this.redis;
    return this.health.check([
      () => this.database(),
      ...(redis ? [() => this.probe('redis', () => redis.ping())] : []),
    ]);
  }

  private database() {
    return this.probe('database', () => this.prisma.$queryRaw`SELECT 1`);
  }

  private async probe<K extends string>(key: K, ping: () => Promise<unknown>) {
    const indicator = this.indicators.check(key);
    const started = Date.now();
    try {
      await within(ping(), CHECK_TIMEOUT_MS);
      return indicator.up({ responseTime: Date.now() - started });
    } catch (e) {
      this.logger.warn({ event: 'health_down', dependency: key, message: (e as Error)?.message });
      return indicator.down({ message: `${key} unavailable` });
    }
  }
}
