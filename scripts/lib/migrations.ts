/**
 * The work behind `npm run migrate:create` and `npm run migrate:check`, as
 * functions so that tests can run them in-process on temp folders.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defaultMigrationsDir } from '../../src/database/migrator.js';
import {
  diffMigrationsToSchema,
  MIGRATION_LOCK_TOML,
  openSchemaEngine,
  type DiffEngine,
} from './schema-engine.js';

export interface Paths {
  migrationsDir: string;
  schemaPath: string;
}

export function defaultPaths(): Paths {
  const migrationsDir = defaultMigrationsDir();
  return {
    migrationsDir,
    schemaPath: join(dirname(migrationsDir), 'schema.prisma'),
  };
}

/** Runs `fn` with an engine, opening (and closing) one unless given. */
async function withEngine<T>(engine: DiffEngine | undefined, fn: (e: DiffEngine) => Promise<T>) {
  if (engine) return fn(engine);
  const own = await openSchemaEngine();
  try {
    return await fn(own);
  } finally {
    await own.close();
  }
}

/** Prisma's folder name: UTC `YYYYMMDDHHMMSS_<name>`. */
export function migrationFolderName(name: string, now = new Date()): string {
  const slug = name
    .trim()
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
  if (!slug) throw new Error(`invalid migration name: ${JSON.stringify(name)}`);
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  return `${stamp}_${slug}`;
}

/**
 * Writes `<migrationsDir>/<stamp>_<name>/migration.sql` (and migration_lock.toml)
 * with the SQL from the migrations folder to schema.prisma; null when in sync.
 */
export async function createMigration(
  opts: Paths & { name: string; now?: Date; engine?: DiffEngine },
): Promise<{ folder: string; sql: string } | null> {
  const folderName = migrationFolderName(opts.name, opts.now);
  const { inSync, sql } = await withEngine(opts.engine, (e) => diffMigrationsToSchema(e, opts));
  if (inSync) return null;
  const folder = join(opts.migrationsDir, folderName);
  if (existsSync(folder)) throw new Error(`${folder} already exists`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'migration.sql'), sql, 'utf8');
  // Prisma rewrites the lock file on every `migrate dev`.
  await writeFile(join(opts.migrationsDir, 'migration_lock.toml'), MIGRATION_LOCK_TOML, 'utf8');
  return { folder, sql };
}

/**
 * In sync when replaying the migrations folder on a fresh database gives
 * schema.prisma; `sql` is what a new migration would need. Throws when a
 * migration does not apply cleanly to a fresh database.
 */
export async function checkMigrations(
  opts: Paths & { engine?: DiffEngine },
): Promise<{ inSync: boolean; sql: string }> {
  return withEngine(opts.engine, (e) => diffMigrationsToSchema(e, opts));
}
