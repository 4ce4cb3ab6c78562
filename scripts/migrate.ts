/**
 * `npm run migrate`: apply pending migrations (offline `prisma migrate deploy`)
 * to DATABASE_URL, or when it is unset to the embedded PGlite in
 * `${DATA_DIR:-.data}/pgdata` (not while the app has it open: PGlite is
 * single-process).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { applyMigrations, pgliteSqlClient, pgSqlClient } from '../src/database/migrator.js';

const log = (msg: string) => console.log(msg);
try {
  const url = process.env.DATABASE_URL;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await applyMigrations(pgSqlClient(client), { log });
    } finally {
      await client.end();
    }
  } else {
    const dataDir = process.env.DATA_DIR || '.data';
    await mkdir(dataDir, { recursive: true });
    const db = await PGlite.create(join(dataDir, 'pgdata'));
    try {
      await applyMigrations(pgliteSqlClient(db), { log });
    } finally {
      await db.close();
    }
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
