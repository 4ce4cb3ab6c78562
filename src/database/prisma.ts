import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { AppConfig } from '../config/app-config.js';
import { PrismaClient } from '../generated/prisma/client.js';
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
  close(): Promise<void>;
}

const logger = new Logger('Database');

export async function openDatabase(config: AppConfig): Promise<Database> {
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
    // A query that gets no answer (network cut, database frozen) is abandoned
    // rather than held, and the server gives up on it too.
    query_timeout: config.env.DATABASE_QUERY_TIMEOUT,
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

async function openPglite(config: AppConfig): Promise<Database> {
  await mkdir(config.dataDir, { recursive: true });
  return openPgliteDatabase(join(config.dataDir, 'pgdata'));
}

/** PGlite at a directory, or in memory with 'memory://' (tests). */
export async function openPgliteDatabase(dataDir: string): Promise<Database> {
  const db = await PGlite.create(dataDir);
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
