import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { AppConfig } from '../config/app-config.js';
import { ensurePrivateDir, PRIVATE_DIR_MODE, privatiseTree } from '../config/data-dir.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { applyMigrations, pgliteSqlClient, pgSqlClient } from './migrator.js';

/**
 * The database behind the app: PostgreSQL through @prisma/adapter-pg when
 * DATABASE_URL is set, otherwise an embedded PostgreSQL (PGlite) persisted in
 * DATA_DIR. Either way pending migrations are applied before the client is
 * handed out.
 */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly prisma: PrismaClient;
  /**
   * On PostgreSQL, the pool behind Prisma's driver adapter (same timeouts and
   * error handling), for the few hot-path statements a repository sends as
   * named prepared statements; null on PGlite.
   */
  readonly pool: pg.Pool | null;
  /** The embedded database's exclusive lock on DATA_DIR (src/database/data-dir-lock.ts). */
  readonly dataDirLock?: DataDirLock;
  close(): Promise<void>;
}

const logger = new Logger('Database');

/** What abandonSilentQueries() reads of a pg Client (pinned by the lockfile: pg 8). */
interface PgClientInternals {
  connection: { stream: Socket };
  _getActiveQuery(): unknown;
}

/**
 * The client side of DATABASE_QUERY_TIMEOUT: a connection that has a query
 * in flight and receives nothing for that long (a network cut, a frozen
 * database) is destroyed, which fails the query at once with a connection
 * error, and the pool replaces the connection. A connection idle in the pool,
 * or between the statements of a transaction, is left alone. Long statements
 * are ended by the server (statement_timeout, same value).
 *
 * Not pg's own `query_timeout`: that arms a timer for every query whose
 * callback keeps the query, its rows and, through their callbacks, the whole
 * request reachable from the timer list, so short-lived objects survive into
 * the old generation under load (measured in docs/benchmark.md). A socket's
 * idle timeout is one timer per connection, re-armed by its traffic without
 * allocating anything.
 */
export function abandonSilentQueries(pool: pg.Pool, ms: number): void {
  pool.on('connect', (client) => {
    const c = client as unknown as PgClientInternals;
    const stream = c.connection.stream;
    stream.setTimeout(ms);
    stream.on('timeout', () => {
      if (c._getActiveQuery()) stream.destroy(new Error('Query read timeout'));
    });
  });
}

/**
 * Not `async`: on the embedded database a taken DATA_DIR throws
 * DataDirLockedError synchronously, so a second process stops at once,
 * before it loads the rest of the app.
 */
export function openDatabase(config: AppConfig): Promise<Database> {
  const url = config.env.DATABASE_URL;
  return url ? openPostgres(url, config) : openPglite(config);
}

async function openPostgres(url: string, config: AppConfig): Promise<Database> {
  const migrationClient = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await migrationClient.connect();
  try {
    await applyMigrations(pgSqlClient(migrationClient), { log: (m) => logger.log(m) });
  } finally {
    await migrationClient.end();
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: config.env.DATABASE_POOL_SIZE,
    // Fail fast when the database is down instead of queueing forever: a new
    // connection that is not up within this time fails the operation.
    connectionTimeoutMillis: config.env.DATABASE_CONNECT_TIMEOUT,
    idleTimeoutMillis: 30_000,
    // The server gives up on a statement that runs longer than this; the
    // client side of DATABASE_QUERY_TIMEOUT is abandonSilentQueries() below.
    statement_timeout: config.env.DATABASE_QUERY_TIMEOUT,
    // Dead peers are noticed on idle connections too.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // No reconnect logic of our own is needed: a broken client is dropped from the
  // pool (its 'error' below, or the failed query), and the next operation opens
  // a new connection, so the API recovers by itself when the database returns.
  // An idle client losing its connection emits 'error' on the pool; without a
  // listener that would crash the process. The pool replaces the client.
  pool.on('error', (err) => logger.warn(`idle database connection lost: ${err.message}`));
  abandonSilentQueries(pool, config.env.DATABASE_QUERY_TIMEOUT);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

function openPglite(config: AppConfig): Promise<Database> {
  // Synchronous on purpose: the open must get as far as compiling the wasm
  // (below) before the caller goes on to load the rest of the app. The lock
  // comes first: a second process on this DATA_DIR stops here, at once.
  ensurePrivateDir(config.dataDir);
  const lock = lockDataDir(config.dataDir);
  if (lock.replaced) {
    const r = lock.replaced;
    logger.warn(
      `replaced a stale lock on DATA_DIR left by pid ${r.pid} (${r.command}, started ${r.startedAt}), which is no longer running`,
    );
  }
  const dir = join(config.dataDir, 'pgdata');
  // PGlite writes a new database's files world-readable and writable (0666):
  // made private once, after the open that created them (or found them so).
  const wasPrivate = existsSync(dir) && (statSync(dir).mode & 0o777) === PRIVATE_DIR_MODE;
  return openPgliteDatabase(dir).then(
    (db) => {
      if (!wasPrivate) privatiseTree(dir);
      return {
        ...db,
        dataDirLock: lock,
        async close() {
          try {
            await db.close();
          } finally {
            lock.release();
          }
        },
      };
    },
    (e: unknown) => {
      lock.release();
      throw e;
    },
  );
}

// The one WebAssembly call used (lib is ES2023 without DOM, and @types/node 20
// declares no WebAssembly global); the module type is PGlite's own.
type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>;
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };

interface PgliteAssets {
  pgliteWasmModule: Promise<WasmModule>;
  initdbWasmModule: Promise<WasmModule>;
  fsBundle: Blob;
}
let pgliteAssets: PgliteAssets | undefined;

/**
 * PGlite's wasm (9 MB) and file-system bundle, read and compiled once per
 * process. Left to itself, PGlite reads them asynchronously and compiles after
 * the main thread next yields, which in a starting server is after the whole
 * app has loaded; the main thread then sat ~200 ms waiting for V8's
 * background compile (seen as a futex wait under strace, and as an `(idle)`
 * gap in the start's `--cpu-prof`). Started here, the compile runs on V8's
 * background threads while the app loads. Tests that open many in-memory
 * databases compile once.
 */
function loadPgliteAssets(): PgliteAssets {
  if (pgliteAssets) return pgliteAssets;
  // The files sit next to PGlite's entry point, where PGlite itself looks for them.
  const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  const compile = (file: string) => WebAssembly.compile(readFileSync(join(dist, file)));
  pgliteAssets = {
    pgliteWasmModule: compile('pglite.wasm'),
    initdbWasmModule: compile('initdb.wasm'),
    fsBundle: new Blob([readFileSync(join(dist, 'pglite.data'))]),
  };
  return pgliteAssets;
}

/**
 * PGlite's own start parameters, with a 16 MB shared buffer pool instead of
 * PostgreSQL's 128 MB. PostgreSQL zeroes the whole pool when it starts, and in
 * wasm that was ~130 ms of a ~600 ms open of an existing DATA_DIR (measured
 * with `--cpu-prof`). A page that is not in the pool is read through the OS
 * page cache, not from disk, so a smaller pool costs an embedded deployment
 * little; the wasm heap is smaller by the same amount.
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/** PGlite at a directory, or in memory with 'memory://' (tests). */
export async function openPgliteDatabase(dataDir: string): Promise<Database> {
  const assets = loadPgliteAssets();
  const db = await PGlite.create(dataDir, {
    startParams: PGLITE_START_PARAMS,
    pgliteWasmModule: await assets.pgliteWasmModule,
    initdbWasmModule: await assets.initdbWasmModule,
    fsBundle: assets.fsBundle,
  });
  await applyMigrations(pgliteSqlClient(db), { log: (m) => logger.log(m) });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  return {
    kind: 'pglite',
    prisma,
    pool: null,
    async close() {
      await prisma.$disconnect();
      await db.close();
    },
  };
}
