/**
 * Applies `prisma/migrations` at start-up, the way `prisma migrate deploy` does.
 *
 * Why this exists: `prisma migrate deploy` needs Prisma's native schema engine,
 * which is downloaded at install/run time and cannot be fetched on these
 * offline machines. This runner reproduces what
 * the engine does against PostgreSQL, observed from its query log, so that a
 * database migrated here can later be handled by the real `prisma migrate
 * deploy` and vice versa:
 *
 * - `SELECT pg_advisory_lock(72707369)` (Prisma's lock id): concurrent runners
 *   wait for each other, so each migration is applied once;
 * - the `_prisma_migrations` table with Prisma's exact column types;
 * - for each migration folder not yet applied, in name order: insert a row
 *   (uuid, checksum, started_at = now(), name), run the whole migration.sql as
 *   ONE simple query (PostgreSQL runs a multi-statement simple query in one
 *   implicit transaction, so a failing script leaves nothing behind), then
 *   `applied_steps_count + 1`, then `finished_at = now()`;
 * - on failure the error goes into `logs` and `finished_at` stays null; every
 *   later run refuses (Prisma's P3009) until someone resolves it;
 * - checksum = lowercase hex SHA-256 of the file; a stored checksum also
 *   matches the file's CRLF/LF variant, as in Prisma's `script_matches_checksum`.
 *
 * Stricter than Prisma: an applied migration whose file changed or disappeared
 * is refused too (Prisma only reports it in `migrate status`/`dev`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { Client, PoolClient } from 'pg';

export interface SqlClient {
  /** One statement with $1.. parameters; returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A whole script as ONE simple query (multi-statement; atomic as PostgreSQL's simple protocol makes it). */
  exec(sql: string): Promise<void>;
}

/**
 * A SqlClient on ONE pg connection (the advisory lock belongs to a session, so
 * not a Pool: take `await pool.connect()` and release it afterwards).
 */
export function pgSqlClient(client: Client | PoolClient): SqlClient {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      // Without parameters node-postgres sends a simple Query message.
      await client.query(sql);
    },
  };
}

export function pgliteSqlClient(db: PGlite): SqlClient {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

/** Failed, previously failed, edited or vanished migration; the message names it. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** `<package root>/prisma/migrations`, from src/database (tsx, vitest) or dist/src/database. */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + import.meta.url);
    dir = up;
  }
  return join(dir, 'prisma', 'migrations');
}

export interface MigrationFile {
  /** Folder name, e.g. `20250101000000_init`. */
  name: string;
  /** migration.sql exactly as on disk. */
  sql: string;
}

/** The migration folders in the order Prisma applies them (its CLI sorts with localeCompare). */
export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b));
  const out: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8').catch(() => {
      throw new MigrationError(`Migration \`${name}\` has no readable migration.sql`);
    });
    out.push({ name, sql });
  }
  return out;
}

export function checksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Prisma's `script_matches_checksum`: line-ending variants, and the old un-padded hex format. */
function matchesChecksum(sql: string, stored: string): boolean {
  const variants = [sql, sql.replaceAll('\r\n', '\n'), sql.replaceAll('\n', '\r\n')];
  return variants.some((v) => {
    const digest = createHash('sha256').update(v, 'utf8').digest();
    const hex =
      stored.length !== 64 && stored.length > 0
        ? [...digest].map((b) => b.toString(16)).join('') // prisma-engines#1887
        : digest.toString('hex');
    return hex === stored;
  });
}

/** The advisory lock every runner takes first: Prisma's id, so a `prisma migrate` waits for us too. */
export const LOCK_ID = 72707369;

// Prisma's own DDL for the table (schema-engine, postgres connector).
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
}

export async function applyMigrations(
  client: SqlClient,
  opts: { migrationsDir?: string; log?: (msg: string) => void } = {},
): Promise<{ applied: string[] }> {
  const dir = opts.migrationsDir ?? defaultMigrationsDir();
  const log = opts.log ?? (() => {});
  await checkLockfile(dir);
  const files = await readMigrations(dir);

  await client.query(`SELECT pg_advisory_lock(${LOCK_ID})`);
  try {
    await client.exec(CREATE_TABLE);
    const rows = await client.query<MigrationRow>(
      `SELECT id, checksum, migration_name, finished_at, rolled_back_at, started_at
         FROM "_prisma_migrations" ORDER BY started_at ASC`,
    );
    // Rolled-back rows are history only, as in Prisma.
    const live = rows.filter((r) => r.rolled_back_at === null);

    const failed = live.filter((r) => r.finished_at === null);
    if (failed.length > 0) {
      const names = failed.map((r) => `\`${r.migration_name}\``).join(', ');
      throw new MigrationError(
        `Found failed migrations in the target database, new migrations will not be applied ` +
          `(Prisma's P3009): ${names}. Fix the database by hand, then mark it rolled back ` +
          `(\`prisma migrate resolve --rolled-back <name>\`, or UPDATE "_prisma_migrations" ` +
          `SET rolled_back_at = now() WHERE migration_name = '<name>' AND finished_at IS NULL).`,
      );
    }
    const byName = new Map(files.map((f) => [f.name, f]));
    for (const row of live) {
      const file = byName.get(row.migration_name);
      if (!file) {
        throw new MigrationError(
          `Migration \`${row.migration_name}\` is applied to the database but missing from ${dir}`,
        );
      }
      if (!matchesChecksum(file.sql, row.checksum)) {
        throw new MigrationError(
          `Migration \`${row.migration_name}\` was modified after it was applied ` +
            `(checksum ${row.checksum} in the database, ${checksum(file.sql)} on disk)`,
        );
      }
    }

    const done = new Set(live.map((r) => r.migration_name));
    const applied: string[] = [];
    for (const file of files.filter((f) => !done.has(f.name))) {
      const id = randomUUID();
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, started_at, migration_name)
         VALUES ($1, $2, now(), $3)`,
        [id, checksum(file.sql), file.name],
      );
      try {
        await client.exec(file.sql);
      } catch (e) {
        const err = e as { message?: string; code?: string };
        const logs =
          `Migration name: ${file.name}\n\n` +
          (err.code ? `Database error code: ${err.code}\n\n` : '') +
          `Database error:\n${err.message ?? String(e)}\n`;
        await client.query(`UPDATE "_prisma_migrations" SET logs = $1 WHERE id = $2`, [logs, id]);
        throw new MigrationError(
          `Migration \`${file.name}\` failed to apply: ${err.message ?? String(e)}`,
          { cause: e },
        );
      }
      await client.query(
        `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1 WHERE id = $1`,
        [id],
      );
      await client.query(`UPDATE "_prisma_migrations" SET finished_at = now() WHERE id = $1`, [id]);
      applied.push(file.name);
      log(`Applied migration ${file.name}`);
    }
    if (applied.length === 0) log('No pending migrations');
    return { applied };
  } finally {
    // A dead connection cannot unlock (the lock died with it): don't mask the real error.
    await client.query(`SELECT pg_advisory_unlock(${LOCK_ID})`).catch(() => {});
  }
}

/** Like Prisma, refuse migrations written for another provider. */
async function checkLockfile(dir: string): Promise<void> {
  const text = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  const provider = text?.match(/^\s*provider\s*=\s*"([^"]*)"/m)?.[1];
  if (provider !== undefined && provider !== 'postgresql') {
    throw new MigrationError(
      `${join(dir, 'migration_lock.toml')} says provider "${provider}", not "postgresql"`,
    );
  }
}
