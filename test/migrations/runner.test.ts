import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyMigrations,
  defaultMigrationsDir,
  LOCK_ID,
  MigrationError,
  pgliteSqlClient,
  pgSqlClient,
  readMigrations,
  type SqlClient,
} from '../../src/database/migrator.js';
import { missing } from '../support/services.js';
import { freshPgDatabase, removeDir, tempMigrations } from './helpers.js';

interface Db {
  client: SqlClient;
  close(): Promise<void>;
}

// A fresh in-memory PGlite takes seconds; cloning a snapshot of one is quick.
let snapshot: Blob | undefined;
const open: Record<string, () => Promise<Db>> = {
  async pglite() {
    if (!snapshot) {
      const template = await PGlite.create();
      snapshot = await template.dumpDataDir('none');
      await template.close();
    }
    const db = await PGlite.create({ loadDataDir: snapshot });
    return { client: pgliteSqlClient(db), close: () => db.close() };
  },
  async postgres() {
    const fresh = await freshPgDatabase();
    const c = new pg.Client({ connectionString: fresh.url });
    await c.connect();
    return {
      client: pgSqlClient(c),
      async close() {
        await c.end();
        await fresh.drop();
      },
    };
  },
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const rowsOf = (client: SqlClient) =>
  client.query<{
    id: string;
    checksum: string;
    migration_name: string;
    finished_at: Date | null;
    logs: string | null;
    rolled_back_at: Date | null;
    started_at: Date;
    applied_steps_count: number;
  }>('SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name');
const tableExists = async (client: SqlClient, name: string) =>
  (
    await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = $1`, [
      name,
    ])
  ).length === 1;

describe.each(missing('postgres') ? ['pglite'] : ['pglite', 'postgres'])(
  'applyMigrations on %s',
  (kind) => {
    let db: Db;
    const dirs: string[] = [];
    const temp = async (extra?: Record<string, string>) => {
      const dir = await tempMigrations(extra);
      dirs.push(dir);
      return dir;
    };
    beforeAll(async () => {
      db = await open[kind]();
    });
    afterAll(async () => {
      await db?.close();
      await Promise.all(dirs.map(removeDir));
    });
    // Each test gets its own database: reopen after every test but the last.
    afterEach(async () => {
      await db.close();
      db = await open[kind]();
    });

    it('applies the committed migrations once, with rows like Prisma writes', async () => {
      const files = await readMigrations(defaultMigrationsDir());
      expect(files[0].name).toMatch(/^\d{14}_init$/);
      for (const f of files) expect(f.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
      const logs: string[] = [];

      const first = await applyMigrations(db.client, {
        log: (m) => logs.push(m),
      });
      expect(first.applied).toEqual(files.map((f) => f.name));
      expect(logs).toEqual(files.map((f) => `Applied migration ${f.name}`));
      for (const t of ['users', 'sessions', 'refresh_tokens']) {
        expect(await tableExists(db.client, t)).toBe(true);
      }

      const second = await applyMigrations(db.client);
      expect(second.applied).toEqual([]);

      const rows = await rowsOf(db.client);
      expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
      for (const [i, row] of rows.entries()) {
        const sql = await readFile(
          join(defaultMigrationsDir(), files[i].name, 'migration.sql'),
          'utf8',
        );
        expect(row).toMatchObject({
          checksum: sha256(sql),
          logs: null,
          rolled_back_at: null,
          applied_steps_count: 1,
        });
        expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(row.id).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      }
    });

    it("creates _prisma_migrations with Prisma's column types", async () => {
      await applyMigrations(db.client, { migrationsDir: await temp() });
      const cols = await db.client.query<Record<string, unknown>>(
        `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
      );
      expect(cols.map((c) => [c.column_name, c.data_type, c.len, c.is_nullable])).toEqual([
        ['id', 'character varying', 36, 'NO'],
        ['checksum', 'character varying', 64, 'NO'],
        ['finished_at', 'timestamp with time zone', null, 'YES'],
        ['migration_name', 'character varying', 255, 'NO'],
        ['logs', 'text', null, 'YES'],
        ['rolled_back_at', 'timestamp with time zone', null, 'YES'],
        ['started_at', 'timestamp with time zone', null, 'NO'],
        ['applied_steps_count', 'integer', null, 'NO'],
      ]);
      expect(cols.find((c) => c.column_name === 'started_at')?.column_default).toBe('now()');
      expect(cols.find((c) => c.column_name === 'applied_steps_count')?.column_default).toBe('0');
    });

    it('records a failing migration, keeps none of its effects, and refuses later runs', async () => {
      const broken = '20990101000000_broken';
      const dir = await temp({
        [broken]:
          'CREATE TABLE "half_done" ("id" INTEGER);\n' +
          'INSERT INTO "half_done" VALUES (1);\n' +
          'ALTER TABLE "users" ADD COLUMN "nope" NO_SUCH_TYPE;\n',
      });

      const err = await applyMigrations(db.client, { migrationsDir: dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as Error).message).toContain(broken);
      expect((err as Error).message).toMatch(/no_such_type/i);

      const committed = (await readMigrations(defaultMigrationsDir())).map((f) => f.name);
      const rows = await rowsOf(db.client);
      expect(rows.map((r) => r.migration_name)).toEqual([...committed, broken]);
      for (const r of rows.slice(0, -1)) expect(r.finished_at).not.toBeNull();
      const failed = rows.at(-1)!;
      expect(failed).toMatchObject({
        finished_at: null,
        applied_steps_count: 0,
        rolled_back_at: null,
      });
      expect(failed.logs).toContain(broken);
      expect(failed.logs).toMatch(/no_such_type/i);
      // Atomic: the statements before the failing one were rolled back.
      expect(await tableExists(db.client, 'half_done')).toBe(false);
      expect(await tableExists(db.client, 'users')).toBe(true);

      // Prisma's P3009: even a fixed file is not applied until the failure is resolved.
      await writeFile(
        join(dir, broken, 'migration.sql'),
        'CREATE TABLE "half_done" ("id" INTEGER);\n',
      );
      const again = await applyMigrations(db.client, {
        migrationsDir: dir,
      }).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(MigrationError);
      expect((again as Error).message).toMatch(/failed migrations/);
      expect((again as Error).message).toContain(broken);
      expect(await rowsOf(db.client)).toHaveLength(committed.length + 1);

      // `prisma migrate resolve --rolled-back` does this; then the fixed file applies.
      await db.client.query(
        `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`,
        [broken],
      );
      expect((await applyMigrations(db.client, { migrationsDir: dir })).applied).toEqual([broken]);
      expect(await tableExists(db.client, 'half_done')).toBe(true);
    });

    it('refuses an applied migration whose file changed or vanished, accepts CRLF', async () => {
      const second = '20990101000000_add_table';
      const dir = await temp({
        [second]: 'CREATE TABLE "extra" ("id" INTEGER);\n',
      });
      const committed = await readMigrations(defaultMigrationsDir());
      expect((await applyMigrations(db.client, { migrationsDir: dir })).applied).toEqual([
        ...committed.map((f) => f.name),
        second,
      ]);
      const file = join(dir, second, 'migration.sql');

      // Git on Windows may check the file out with CRLF: Prisma accepts that.
      await writeFile(file, 'CREATE TABLE "extra" ("id" INTEGER);\r\n');
      expect((await applyMigrations(db.client, { migrationsDir: dir })).applied).toEqual([]);

      await writeFile(file, 'CREATE TABLE "extra" ("id" BIGINT);\n');
      const changed = await applyMigrations(db.client, {
        migrationsDir: dir,
      }).catch((e) => e);
      expect(changed).toBeInstanceOf(MigrationError);
      expect((changed as Error).message).toMatch(new RegExp(`${second}.*modified`));

      await rm(join(dir, second), { recursive: true });
      const gone = await applyMigrations(db.client, { migrationsDir: dir }).catch((e) => e);
      expect(gone).toBeInstanceOf(MigrationError);
      expect((gone as Error).message).toMatch(new RegExp(`${second}.*missing`));
    });

    it('releases the advisory lock, also after a failure', async () => {
      const dir = await temp({
        '20990101000000_broken': 'SELECT no_such_column;',
      });
      await expect(applyMigrations(db.client, { migrationsDir: dir })).rejects.toThrow(
        MigrationError,
      );
      // The lock the runner takes, by its id (a bigint below 2^32: objid holds it).
      const held = `SELECT 1 AS held FROM pg_locks
                     WHERE locktype = 'advisory' AND classid = 0 AND objid = ${LOCK_ID} AND granted`;
      expect(await db.client.query(held)).toEqual([]);
      // Control: the same query sees that lock while this session holds it.
      await db.client.query(`SELECT pg_advisory_lock(${LOCK_ID})`);
      try {
        expect(await db.client.query(held)).toEqual([{ held: 1 }]);
      } finally {
        await db.client.query(`SELECT pg_advisory_unlock(${LOCK_ID})`);
      }
    });
  },
);

describe.skipIf(missing('postgres'))('applyMigrations on postgres, concurrently', () => {
  it('two runners at once apply each migration once', async () => {
    const fresh = await freshPgDatabase();
    const names = ['20990101000000_a', '20990101000001_b', '20990101000002_c'];
    const dir = await tempMigrations(
      Object.fromEntries(names.map((n) => [n, `CREATE TABLE "t_${n.slice(-1)}" ("id" INTEGER);`])),
    );
    const clients = [0, 1].map(() => new pg.Client({ connectionString: fresh.url }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      const results = await Promise.all(
        clients.map((c) => applyMigrations(pgSqlClient(c), { migrationsDir: dir })),
      );
      const all = results.flatMap((r) => r.applied).sort();
      const expected = [...(await readMigrations(dir)).map((m) => m.name)].sort();
      expect(all).toEqual(expected);
      const rows = await clients[0].query(
        'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL',
      );
      expect(rows.rowCount).toBe(expected.length);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await fresh.drop();
      await removeDir(dir);
    }
  });
});
