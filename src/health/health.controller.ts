import { Controller, Get, Inject } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  PrismaHealthIndicator,
} from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { PrismaClient } from '../generated/prisma/client.js';
import { REDIS } from '../redis/redis.module.js';

/**
 * GET /health: 200 when the database answers, 503 when it does not (the
 * contract). GET /health/live: the process answers (for a liveness probe:
 * no dependency, so an outage elsewhere never restarts it). GET /health/ready:
 * the database and, when REDIS_URL is set, Redis (for a readiness probe or a
 * load balancer).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly prismaHealth: PrismaHealthIndicator,
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
      ...(redis
        ? [
            () =>
              this.indicators
                .check('redis')
                .attempt(async () => {
                  await redis.ping();
                })
                .withTimeout(2000),
          ]
        : []),
    ]);
  }

  private database() {
    return this.prismaHealth.pingCheck('database', this.prisma, { timeout: 2000 });
  }
}
