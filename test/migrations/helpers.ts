import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase, type OwnedDatabase } from '../support/databases.js';
import { defaultMigrationsDir } from '../../src/database/migrator.js';

export { PG_SERVER_URL as PG_URL } from '../support/services.js';
import { PG_SERVER_URL as PG_URL } from '../support/services.js';

/** A temp copy of the committed migrations folder plus `extra` migrations (name -> SQL). */
export async function tempMigrations(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  await cp(defaultMigrationsDir(), dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

export const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });

/** A throwaway PostgreSQL database: its URL and a drop function. */
export function freshPgDatabase(): Promise<OwnedDatabase> {
  return createPgDatabase(PG_URL, 'mig');
}
