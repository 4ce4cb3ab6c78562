import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DynamicModule } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { LoggerModule, Logger as PinoNestLogger, PinoLogger, type Params } from 'nestjs-pino';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { AppConfig } from '../config/app-config.js';

/** An incoming X-Request-Id is kept when it looks like an id (a proxy's), else one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Never logged, whatever a log call passes: credentials, tokens, cookies.
 * Request logs carry no headers and no query string at all (see the
 * serializers below); this is the second line of defence for objects logged
 * by application code.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'cookie',
  'password',
  'currentPassword',
  'newPassword',
  'accessToken',
  'refreshToken',
  'token',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.accessToken',
  '*.refreshToken',
  '*.token',
];

function pathOnly(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Fastify's genReqId: a sane incoming X-Request-Id (from a proxy) is kept, else a UUID. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Structured JSON logs (pino) on stdout, one object per line: one line per
 * request (id, method, path, status, time) and every Nest Logger call (the
 * auth events of AuthService, errors, start and stop) routed into the same
 * logger, carrying the id of the request it belongs to (`reqId`).
 */
export function createRootLogger(config: AppConfig, silent: boolean): Logger {
  return pino({
    level: silent ? 'silent' : config.env.LOG_LEVEL,
    base: { service: 'auth-api', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, remove: true },
  });
}

/**
 * nestjs-pino gives Nest's Logger (and PinoLogger injection) on top of that
 * root. `useExisting`: the HTTP side is the Fastify hook below, not Nest
 * middleware.
 */
function loggingParams(root: Logger): Params {
  return { pinoHttp: { logger: root }, useExisting: true };
}

export function loggingModule(root: Logger): DynamicModule {
  return LoggerModule.forRoot(loggingParams(root));
}

/** A Nest LoggerService on the root, usable before the Nest app exists (opening the database). */
export function nestLogger(root: Logger): PinoNestLogger {
  const params = loggingParams(root);
  return new PinoNestLogger(new PinoLogger(params), params);
}

/**
 * Request logging and the request context, as a Fastify onRequest hook (so
 * every route is covered, GraphQL included): pino-http writes the closing line
 * of each request, and everything logged while the request runs carries its
 * id. The id comes from X-Request-Id when a proxy sent a sane one, and is sent
 * back in X-Request-Id.
 */
export function registerRequestLogging(fastify: FastifyInstance, root: Logger): void {
  const httpLogger = pinoHttp({
    logger: root,
    // Fastify has already given the request its id (requestId below).
    genReqId: (req: IncomingMessage & { id?: unknown }) => (req.id as string) ?? randomUUID(),
    customAttributeKeys: { reqId: 'reqId' },
    serializers: {
      req: (req: { id?: unknown; method?: string; url?: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        // The path only: a query string may carry a GET operation's variables.
        url: pathOnly(req.url),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    // Probes would drown the rest.
    autoLogging: { ignore: (req) => pathOnly(req.url)?.startsWith('/health') ?? false },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
  });
  const context = new PinoLogger(loggingParams(root));
  fastify.addHook('onRequest', (request, reply, done) => {
    (request.raw as IncomingMessage & { id?: unknown }).id = request.id;
    reply.header('x-request-id', request.id);
    httpLogger(request.raw, reply.raw);
    context.runInContext(done, { bindings: { reqId: request.raw.id } });
  });
}
