import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError } from './config/config.schema.js';
import { loadAppConfig, type AppConfig } from './config/app-config.js';

const bootLogger = new Logger('Bootstrap');

/**
 * SIGTERM / SIGINT: stop accepting (new requests on kept-alive connections get
 * 503 + Connection: close), let in-flight requests finish, then close Apollo,
 * the database and Redis, and exit 0. If that takes longer than
 * SHUTDOWN_TIMEOUT the process exits with 1 anyway.
 */
function handleSignals(app: NestFastifyApplication, config: AppConfig): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    bootLogger.log({ event: 'shutdown', signal });
    const timer = setTimeout(() => {
      bootLogger.error({ event: 'shutdown_timeout', timeoutMs: config.env.SHUTDOWN_TIMEOUT });
      process.exit(1);
    }, config.env.SHUTDOWN_TIMEOUT);
    timer.unref();
    app.close().then(
      () => {
        bootLogger.log({ event: 'stopped' });
        process.exitCode = 0;
        // Let stdout drain; nothing else is left to keep the process alive.
        setImmediate(() => process.exit(0));
      },
      (e: unknown) => {
        bootLogger.error({ event: 'shutdown_failed', message: (e as Error)?.message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function main(): Promise<void> {
  // A .env file in the working directory, if present (real variables win).
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = await loadAppConfig(process.env);
  // The database opens first and the rest of the app is imported after it,
  // not at the top: for the embedded default (a PostgreSQL compiled to wasm)
  // the wasm then compiles on V8's background threads while Nest, Apollo and
  // the resolvers load, instead of after them. In the bundle `npm start`
  // runs, importing the app is evaluating it, so the open has to be started
  // before.
  const { installRootLogger } = await import('./logging/logging.module.js');
  const rootLogger = installRootLogger(config, false);
  const { openDatabase } = await import('./database/prisma.js');
  const database = openDatabase(config);
  database.catch(() => {}); // (reported by the await below)
  const { createApp } = await import('./app.factory.js');
  const app = await createApp(config, { database: await database, rootLogger });
  handleSignals(app, config);
  await app.listen({ port: config.env.PORT, host: config.env.HOST });
  const where = config.env.DATABASE_URL
    ? 'PostgreSQL (DATABASE_URL)'
    : `embedded PGlite in ${config.dataDir}`;
  bootLogger.log({
    event: 'listening',
    port: config.env.PORT,
    database: where,
    redis: config.env.REDIS_URL ? 'shared (REDIS_URL)' : 'none (in-memory limits)',
  });
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(e.message);
  } else {
    bootLogger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  process.exit(1);
});
