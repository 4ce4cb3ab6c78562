import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger as NestLogger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { Logger as PinoNestLogger, PinoLogger, type Params } from 'nestjs-pino';
import { pino, type Logger } from 'pino';
import type { AppConfig } from '../config/app-config.js';

/** The shape of an X-Request-Id kept from a trusted proxy. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A string JSON writes as is between quotes (no quote, backslash or control character). */
const SAFE_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

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

/**
 * Fastify's genReqId: an incoming X-Request-Id is kept when the peer is a
 * trusted proxy (TRUST_PROXY) and the value looks like an id; anything else
 * gets a new UUID. A client could otherwise choose the id its requests are
 * logged under (and make them look like another's).
 */
export function requestIdGenerator(
  fromTrustedProxy: (addr: string | undefined) => boolean,
): (req: IncomingMessage) => string {
  return (req) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' &&
      REQUEST_ID.test(given) &&
      fromTrustedProxy(req.socket?.remoteAddress)
      ? given
      : randomUUID();
  };
}

/**
 * Structured JSON logs (pino) on stdout, one object per line: one line per
 * request (id, method, path, status, time) and every Nest Logger call (the
 * auth events, errors, start and stop) routed into the same
 * logger; the lines of a request carry its id (`reqId`).
 */
export function createRootLogger(config: AppConfig, silent: boolean): Logger {
  const base = { service: 'auth-api', pid: process.pid };
  const out = stdout();
  const root = pino(
    {
      level: silent ? 'silent' : config.env.LOG_LEVEL,
      base,
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, remove: true },
    },
    out,
  );
  // What the request line needs to be written as pino would write it, kept
  // from the options given above (not read back from pino's internals).
  directSinks.set(root, { out, bindings: `,${JSON.stringify(base).slice(1, -1)}` });
  return root;
}

/** The destination and the base bindings (`,"service":…,"pid":…`) of a root made by createRootLogger. */
const directSinks = new WeakMap<Logger, { out: LineBatcher; bindings: string }>();

let secondStart = Number.NaN;
let secondPrefix = '';

/**
 * pino's `timestamp` (`,"time":"2026-11-22T23:16:34.519Z"`, the same text as
 * pino.stdTimeFunctions.isoTime), with the date and time up to the second
 * formatted once a second rather than a Date formatted on every line (one
 * per request at least; measured in docs/benchmark.md).
 */
export function isoTime(now = Date.now()): string {
  let ms = now - secondStart;
  if (!(ms >= 0 && ms < 1000)) {
    ms = ((now % 1000) + 1000) % 1000;
    secondStart = now - ms;
    secondPrefix = new Date(secondStart).toISOString().slice(0, 20); // "…T23:16:34."
  }
  return `,"time":"${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/** How long a log line may wait in the buffer before it is written. */
export const LOG_FLUSH_MS = 250;

/** Lines are handed to stdout in chunks of about this many characters. */
const LOG_CHUNK = 4096;

/**
 * stdout, buffered: lines are written 4 KiB at a time, and at least every
 * LOG_FLUSH_MS, and whatever is left when the process exits (also after an
 * uncaught exception), rather than one write per line. A crash that kills
 * the process outright (SIGKILL, OOM) loses at most the last LOG_FLUSH_MS of
 * lines.
 *
 * The lines wait in an array, joined once per chunk, and each chunk is one
 * synchronous write (pino's sonic-boom, `sync: true`), so what is pending at
 * exit is written before the process ends. Not sonic-boom's own buffer
 * (`minLength`): it keeps one string that it measures with Buffer.byteLength
 * on every write, copying everything pending each time.
 */
type SonicBoom = ReturnType<typeof pino.destination>;

class LineBatcher {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly out: SonicBoom) {}

  write(line: string): boolean {
    this.parts.push(line);
    this.size += line.length;
    if (this.size >= LOG_CHUNK) this.drain();
    return true;
  }

  /** pino's logger.flush(cb): what is pending is written, then cb. */
  flush(cb?: (err?: Error) => void): void {
    this.drain();
    this.out.flush(cb);
  }

  /** At exit: everything pending, written before the process ends. */
  flushSync(): void {
    try {
      this.drain();
    } catch {
      // stdout already closed (EPIPE, destroyed): nothing more can be written.
    }
  }

  private drain(): void {
    if (this.size === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    this.out.write(chunk);
  }
}

const batchers = new Set<LineBatcher>();

function stdout(): LineBatcher {
  const batcher = new LineBatcher(pino.destination({ dest: 1, sync: true }));
  setInterval(() => batcher.flush(), LOG_FLUSH_MS).unref();
  // One listener for every logger of the process ('exit' also follows an
  // uncaught exception).
  if (batchers.size === 0) process.once('exit', () => batchers.forEach((b) => b.flushSync()));
  batchers.add(batcher);
  return batcher;
}

/** nestjs-pino gives Nest's Logger on top of that root (no LoggerModule, no Nest middleware). */
function loggingParams(root: Logger): Params {
  return { pinoHttp: { logger: root }, useExisting: true };
}

/**
 * The root logger, with Nest's static Logger (every `new Logger(context)`,
 * the database's included) routed to it: called once, before anything logs.
 */
export function installRootLogger(config: AppConfig, silent: boolean): Logger {
  const root = createRootLogger(config, silent);
  NestLogger.overrideLogger(nestLogger(root));
  return root;
}

/**
 * Nest's start-up narration (each module initialised, each route mapped,
 * "Starting Nest application...", "successfully started"): about twenty
 * lines at every start that say nothing a user acts on. Logged at debug
 * (LOG_LEVEL=debug shows them); main.ts ends the start with one line that
 * says what is listening where.
 */
export const FRAMEWORK_START_CONTEXTS: ReadonlySet<string> = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'GraphQLModule',
]);

class AppNestLogger extends PinoNestLogger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && FRAMEWORK_START_CONTEXTS.has(context)) {
      super.debug(message, ...optionalParams);
    } else {
      super.log(message, ...optionalParams);
    }
  }
}

/** A Nest LoggerService on the root, usable before the Nest app exists (opening the database). */
export function nestLogger(root: Logger): PinoNestLogger {
  const params = loggingParams(root);
  return new AppNestLogger(new PinoLogger(params), params);
}

/**
 * Request logging, as Fastify hooks (so every route is covered, GraphQL
 * included): one closing line per request ("request completed": id, method,
 * path, client address, status, time; warn for 4xx, error for 5xx). The id
 * comes from X-Request-Id when a proxy sent a sane one, and is sent back in
 * X-Request-Id; the services' lines of that request (auth events, errors)
 * carry it as `reqId`, passed to them explicitly (ClientInfo.requestId,
 * which also carries the ip and user agent the security log records).
 *
 * Not nestjs-pino's request context nor pino-http: an AsyncLocalStorage
 * context entered per request (promise hooks on every promise of the
 * process), a child logger and pino-http's listeners and serialisers per
 * request cost more than the 3 % the project allows a hand-written part
 * (the paired A/B is in docs/benchmark.md; bench/ab-variants/
 * library-logging.patch is the library's way, kept measurable).
 *
 * The closing line is written by a plain onResponse hook and serialised
 * here, in pino's format (level, time, base bindings, fields, msg), into
 * the root logger's own destination: its fields are fixed (no header, query
 * string or body, so nothing to redact), so pino's redaction pass and
 * serialisers are skipped. Everything else (auth events, errors) goes
 * through the redacting root logger.
 */
export function registerRequestLogging(fastify: FastifyInstance, root: Logger): void {
  const line = requestLineWriter(root);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    // Probes would drown the rest.
    if (root.isLevelEnabled(level)) {
      const path = pathOnly(request.raw.url) ?? '';
      if (!path.startsWith('/health')) {
        line(level, {
          id: request.id,
          method: request.raw.method ?? '',
          url: path,
          remoteAddress: request.raw.socket?.remoteAddress,
          statusCode: status,
          responseTime: Math.round(reply.elapsedTime),
        });
      }
    }
    done();
  });
}

export interface RequestLine {
  id: string;
  method: string;
  url: string;
  remoteAddress: string | undefined;
  statusCode: number;
  responseTime: number;
}

/**
 * Writes `{"level":…,"time":…,<base>,"reqId":…,"req":{…},"res":{…},"responseTime":…,"msg":"request completed"}`
 * straight into the destination of a root made by createRootLogger (the
 * same line pino would write), or through pino for any other logger.
 */
export function requestLineWriter(
  root: Logger,
): (level: 'info' | 'warn' | 'error', r: RequestLine) => void {
  const sink = directSinks.get(root);
  if (!sink) {
    const child = root.child({}, { redact: [] });
    return (level, r) =>
      child[level](
        {
          reqId: r.id,
          req: { id: r.id, method: r.method, url: r.url, remoteAddress: r.remoteAddress },
          res: { statusCode: r.statusCode },
          responseTime: r.responseTime,
        },
        'request completed',
      );
  }
  const str = JSON.stringify;
  // The id (requestId(): a UUID or a value matching REQUEST_ID), the method
  // (an HTTP token, checked by Node's parser) and the client address (an IP)
  // never hold a character JSON escapes; checked here anyway, since quoting
  // them by hand saves three JSON.stringify calls per request.
  const quote = (s: string) => (SAFE_JSON_STRING.test(s) ? `"${s}"` : str(s));
  const { out, bindings } = sink;
  return (level, r) => {
    const id = quote(r.id);
    out.write(
      `{"level":"${level}"${isoTime()}${bindings},"reqId":${id},"req":{"id":${id},"method":${quote(r.method)},"url":${str(r.url)}${
        r.remoteAddress === undefined ? '' : `,"remoteAddress":${quote(r.remoteAddress)}`
      }},"res":{"statusCode":${r.statusCode}},"responseTime":${r.responseTime},"msg":"request completed"}\n`,
    );
  };
}
