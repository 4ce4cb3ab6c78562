import fastifyCookie from '@fastify/cookie';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { openDatabase, type Database } from './database/prisma.js';

export interface CreateAppOptions {
  /** An already opened (and migrated) database; by default one is opened from the config. */
  database?: Database;
  /** Nest log levels; false silences Nest's own logger (tests). */
  logger?: LogLevel[] | false;
}

/** TRUST_PROXY: true/false, a hop count, or addresses/subnets ('loopback', '10.0.0.0/8,127.0.0.1'). */
function trustProxy(value: string): boolean | string | ((addr: string, hop: number) => boolean) {
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_addr, hop) => hop < hops;
  }
  return value;
}

/** Builds the app (Fastify + Apollo) without listening: main.ts and the tests both use it. */
export async function createApp(
  config: AppConfig,
  opts: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const db = opts.database ?? (await openDatabase(config));
  const adapter = new FastifyAdapter({
    trustProxy: trustProxy(config.env.TRUST_PROXY),
    bodyLimit: config.env.BODY_LIMIT,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, db),
    adapter,
    {
      logger: opts.logger ?? ['log', 'warn', 'error'],
      bufferLogs: false,
    },
  );
  await app.register(fastifyCookie);
  app.enableShutdownHooks();
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

export const bootLogger = new Logger('Bootstrap');
