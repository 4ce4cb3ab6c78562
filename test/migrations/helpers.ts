import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { defaultMigrationsDir } from '../../src/database/migrator.js';

export const PG_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

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
export async function freshPgDatabase(): Promise<{
  url: string;
  drop(): Promise<void>;
}> {
  const name = `mig_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
