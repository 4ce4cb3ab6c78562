import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { LogLevel } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { pino, type Logger as PinoLogger } from 'pino';
import { print, type DocumentNode } from 'graphql';
import { createApp } from '../../src/app.factory.js';
import { loadAppConfig, type AppConfig } from '../../src/config/app-config.js';
import { openDatabase, openPgliteDatabase, type Database } from '../../src/database/prisma.js';
import { REDACT_PATHS } from '../../src/logging/logger.js';
import { createPgDatabase, type OwnedDatabase } from './databases.js';

/**
 * Boots the real app (Fastify + Apollo + Prisma) on a random loopback port,
 * on a fresh database: an in-memory PGlite by default, or, when
 * TEST_DATABASE_URL is set, a new PostgreSQL database created on that server
 * for this app and dropped when it closes.
 */
export interface TestApp {
  url: string;
  config: AppConfig;
  app: NestFastifyApplication;
  db: Database;
  /** The URL of this app's own PostgreSQL database (undefined on PGlite). */
  databaseUrl?: string;
  gql<T = any>(
    query: string | { toString(): string } | object,
    variables?: Record<string, unknown>,
    opts?: GqlOptions,
  ): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

export interface GqlOptions {
  token?: string | null;
  headers?: Record<string, string>;
  cookie?: string;
}

export interface GqlResponse<T> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: {
      message: string;
      extensions?: { code?: string; [k: string]: unknown };
      path?: string[];
    }[];
  };
  data: T;
  errors:
    | { message: string; extensions?: { code?: string; [k: string]: unknown }; path?: string[] }[]
    | undefined;
  /** The code of the first error, if any. */
  code: string | undefined;
  setCookie: string[];
}

export const TEST_SECRET = randomBytes(32).toString('base64url');
/**
 * The ES256 signing key (PKCS#8 PEM) every test app gets unless the test
 * says otherwise, as JWT_ACCESS_SECRET: apps of one test process (several
 * instances on one database) verify each other's tokens. Pass
 * JWT_PRIVATE_KEY: '' to have the app generate its own in DATA_DIR.
 */
export const TEST_PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/** A fresh PostgreSQL database when TEST_DATABASE_URL is set; undefined means PGlite. */
export async function createTestDatabase(): Promise<OwnedDatabase | undefined> {
  const base = process.env.TEST_DATABASE_URL;
  return base ? createPgDatabase(base, 'authtest') : undefined;
}

export interface TestAppOptions {
  /**
   * On PGlite, keep the database in this directory instead of in memory, so
   * that a later app can open it again (a restart). Ignored on PostgreSQL
   * (pass the same DATABASE_URL instead).
   */
  pgliteDir?: string;
  /** Collect every log line (JSON, with the server's redaction) into this array. */
  logLines?: string[];
}

export async function startTestApp(
  env: Record<string, string> = {},
  opts: TestAppOptions = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-api-test-'));
  const pgDb = env.DATABASE_URL ? undefined : await createTestDatabase();
  const production = env.NODE_ENV === 'production';
  const config = await loadAppConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    JWT_ACCESS_SECRET: TEST_SECRET,
    JWT_PRIVATE_KEY: TEST_PRIVATE_KEY,
    BCRYPT_ROUNDS: '4',
    AUTH_RATE_LIMIT: '100000',
    AUTH_LOGIN_MAX_FAILURES: '100000',
    // Functional tests run bursts of hashes on a shared, busy machine: the
    // hashing queue's load shedding is tested on its own (hashing-queue.test.ts).
    PASSWORD_HASH_MAX_WAIT: '60s',
    PASSWORD_HASH_QUEUE: '10000',
    // Production requires a mail server; one that refuses connections does for tests
    // that send no mail (mails then wait in the outbox).
    // It also requires the key of the TOTP secrets.
    ...(production
      ? { SMTP_URL: 'smtp://127.0.0.1:9', MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64') }
      : {}),
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    ...env,
  });
  const db = config.env.DATABASE_URL
    ? await openDatabase(config)
    : await openPgliteDatabase(opts.pgliteDir ?? 'memory://');
  const app = await createApp(config, {
    database: db,
    ...(opts.logLines
      ? { rootLogger: collectingLogger(opts.logLines) }
      : { logger: process.env.TEST_LOGS ? (['log', 'warn', 'error'] as LogLevel[]) : false }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  let closed = false;
  return {
    url,
    config,
    app,
    db,
    databaseUrl: config.env.DATABASE_URL,
    gql: (query, variables, opts) => gqlAt(url, query, variables, opts),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await pgDb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A pino logger like the server's (same redaction) that appends each JSON line to `lines`. */
function collectingLogger(lines: string[]): PinoLogger {
  return pino(
    {
      level: 'info',
      base: { service: 'auth-api' },
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, remove: true },
    },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(l);
        cb();
      },
    }),
  );
}

/**
 * A GraphQL POST to the app at `url` (`http://host:port`): the query as a
 * string, or a typed DocumentNode (from test/generated), which is printed.
 */
export async function gqlAt<T = any>(
  url: string,
  query: unknown,
  variables?: Record<string, unknown>,
  opts: GqlOptions = {},
): Promise<GqlResponse<T>> {
  const text = typeof query === 'string' ? query : printDocument(query);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: text, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>['body'];
  return {
    status: res.status,
    headers: res.headers,
    body,
    data: body.data as T,
    errors: body.errors,
    code: body.errors?.[0]?.extensions?.code,
    setCookie: res.headers.getSetCookie(),
  };
}

/** A typed DocumentNode (from test/generated) or any AST: printed to a query string. */
function printDocument(doc: unknown): string {
  return print(doc as DocumentNode);
}
