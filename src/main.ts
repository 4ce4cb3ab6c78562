import 'reflect-metadata';
import { existsSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError } from './config/config.schema.js';
import { loadAppConfig, type AppConfig } from './config/app-config.js';
import { DataDirLockedError } from './database/data-dir-lock.js';
import { describeDatabase, listenFailureMessage, localBaseUrl, readyLine } from './startup.js';

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
  const { installRootLogger } = await import('./logging/logger.js');
  const rootLogger = installRootLogger(config, false);
  const { openDatabase } = await import('./database/prisma.js');
  const database = openDatabase(config);
  database.catch(() => {}); // (reported by the await below)
  const { createApp } = await import('./app.factory.js');
  const app = await createApp(config, { database: await database, rootLogger });
  handleSignals(app, config);
  const { HOST: host, PORT: port } = config.env;
  try {
    await app.listen({ port, host });
  } catch (e) {
    const message = listenFailureMessage(e, host, port);
    if (!message) throw e;
    await app.close();
    // The log lines of the failed listen (Nest's own "Error: listen
    // EADDRINUSE") are written now, so that the message comes after them:
    // the last thing on the screen.
    rootLogger.flush();
    throw new StartError(message);
  }
  const address = app.getHttpServer().address();
  const listening = typeof address === 'object' && address ? address.port : port;
  const baseUrl = localBaseUrl(host, listening);
  const db = await database;
  // Whoever finds DATA_DIR taken is told where this server answers.
  db.dataDirLock?.update({ url: `${baseUrl}/graphql` });
  const { explorerInstalled } = await import('./explorer/explorer.js');
  const line = readyLine({
    baseUrl,
    config,
    startedAt: performance.timeOrigin,
    explorer: explorerInstalled(),
  });
  bootLogger.log({
    event: 'listening',
    port: listening,
    url: `${baseUrl}/graphql`,
    database: describeDatabase(config),
    cookieMode: config.env.AUTH_REFRESH_COOKIE,
    redis: config.env.REDIS_URL ? 'shared (REDIS_URL)' : 'none (in-memory limits)',
    msg: line,
  });
  if (!config.isProduction) {
    // Outside production the start ends with the same line in plain text, the
    // last one on the screen (the JSON lines before it are flushed first, so
    // it comes after them). Production stdout stays JSON lines only.
    rootLogger.flush();
    writeSync(1, `\n${line}\n\n`);
  }
}

/** A start that failed for a reason a person can fix: the message alone, no stack. */
class StartError extends Error {}

main().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof DataDirLockedError || e instanceof StartError) {
    console.error(e.message);
  } else {
    bootLogger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  process.exit(1);
});
