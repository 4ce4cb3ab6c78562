import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { openDatabase, type Database } from './database/prisma.js';
import { loadKeySet } from './keys/key-set.js';
import {
  installRootLogger,
  nestLogger,
  registerRequestLogging,
  requestIdGenerator,
} from './logging/logger.js';
import { fastifyTrustProxy, trustedPeer } from './config/trust-proxy.js';
import { GRAPHQL_PATH } from './graphql/context.js';
import type { Logger as PinoLogger } from 'pino';
import { registerGraphqlHttpErrors } from './graphql/http-errors.js';
import { registerExplorer } from './explorer/explorer.js';

export interface CreateAppOptions {
  /** An already opened (and migrated) database; by default one is opened from the config. */
  database?: Database;
  /** false silences every log (tests); otherwise JSON logs at LOG_LEVEL. */
  logger?: LogLevel[] | false;
  /** The root logger, when the caller made it already (main.ts, to log while the database opens). */
  rootLogger?: PinoLogger;
}

/** Apollo Studio (Sandbox) runs in the browser at this origin. */
export const APOLLO_STUDIO_ORIGIN = 'https://studio.apollographql.com';

/**
 * Browsers allowed to call the API with credentials (the refresh cookie):
 * CORS_ORIGINS, else outside production Apollo Studio only, else none. Only
 * exact origins from the list are echoed back (never `*`, never an
 * arbitrary one), always with `Vary: Origin`.
 */
export function corsOrigins(config: AppConfig): string[] {
  return config.env.CORS_ORIGINS ?? (config.isProduction ? [] : [APOLLO_STUDIO_ORIGIN]);
}

/** Builds the app (Fastify + Apollo) without listening: main.ts and the tests both use it. */
export async function createApp(
  config: AppConfig,
  opts: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  // JSON logs from the first line (the database is opened before the Nest app exists).
  const rootLogger = opts.rootLogger ?? installRootLogger(config, opts.logger === false);
  // The signing keys first: a development key file in DATA_DIR that holds no
  // usable key is a ConfigError (a plain message, exit 1), not a Nest init failure.
  const keys = await loadKeySet(config);
  const db = opts.database ?? (await openDatabase(config));
  const adapter = new FastifyAdapter({
    trustProxy: fastifyTrustProxy(config.env.TRUST_PROXY),
    bodyLimit: config.env.BODY_LIMIT,
    genReqId: requestIdGenerator(trustedPeer(config.env.TRUST_PROXY)),
    requestIdHeader: false,
    // A JSON body deeper or longer than this is not a GraphQL request.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // No Nest middleware here (request logging, CORS and cookies are Fastify
    // hooks/plugins): without this the adapter registers @fastify/middie,
    // whose onRequest hook would run on every request for nothing.
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, db, keys),
    adapter,
    {
      bufferLogs: true,
      // While shutting down, a request on a kept-alive connection gets 503 + Connection: close.
      return503OnClosing: true,
      // Fastify's own JSON (and text/plain) parsers, with the adapter's
      // bodyLimit and poisoning options above. Nest's would add a form parser
      // (no GraphQL client sends forms; they get 415) and wrap the JSON one
      // in a closure rebuilt on every request.
      bodyParser: false,
    },
  );
  app.useLogger(nestLogger(rootLogger));
  app.flushLogs();
  registerRequestLogging(app.getHttpAdapter().getInstance(), rootLogger);
  registerGraphqlHttpErrors(app.getHttpAdapter().getInstance(), {
    landingPage: !config.isProduction,
  });
  // The offline explorer (GraphiQL from node_modules), never in production.
  if (!config.isProduction) registerExplorer(app.getHttpAdapter().getInstance());
  // Cookies are read and written only in cookie mode; in the default mode
  // the plugin's two hooks (parse every request, serialise every reply)
  // would run for nothing.
  if (config.env.AUTH_REFRESH_COOKIE) await app.register(fastifyCookie);
  const origins = corsOrigins(config);
  // No allowed origin (production without CORS_ORIGINS): no plugin at all.
  // Given `origin: false` it adds no header and handles no preflight, yet its
  // hook would run on every request (an options object spread each time).
  if (origins.length)
    await app.register(fastifyCors, {
      origin: origins,
      credentials: true,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: [
        'content-type',
        'authorization',
        'apollo-require-preflight',
        'x-apollo-operation-name',
        'apollographql-client-name',
        'apollographql-client-version',
        'x-request-id',
      ],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
      strictPreflight: true,
    });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

export { GRAPHQL_PATH };
