/**
 * `npm run migrate`: apply pending migrations (offline `prisma migrate deploy`)
 * to DATABASE_URL, or when it is unset to the embedded PGlite in
 * `${DATA_DIR:-.data}/pgdata`, under the DATA_DIR lock: while a server has
 * that directory open, this refuses and says which process holds it.
 */
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { lockDataDir } from '../src/database/data-dir-lock.js';
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
    const lock = lockDataDir(dataDir);
    try {
      const db = await PGlite.create(join(dataDir, 'pgdata'));
      try {
        await applyMigrations(pgliteSqlClient(db), { log });
      } finally {
        await db.close();
      }
    } finally {
      lock.release();
    }
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
