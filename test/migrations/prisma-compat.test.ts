// Our runner against Prisma's own migration code: the wasm schema engine's
// applyMigrations/diagnoseMigrationHistory are what `prisma migrate deploy`
// and `migrate status` run (the native engine cannot be downloaded here).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMigrations,
  checksum,
  defaultMigrationsDir,
  MigrationError,
  pgliteSqlClient,
  readMigrations,
} from '../../src/database/migrator.js';
import {
  freshPglite,
  migrationsList,
  openSchemaEngine,
  type DiffEngine,
} from '../../scripts/lib/schema-engine.js';
import { removeDir, tempMigrations } from './helpers.js';

const FILTERS = { externalTables: [], externalEnums: [] };
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(extra?: Record<string, string>) {
  const db = await freshPglite();
  const dir = await tempMigrations(extra);
  cleanup.push(
    () => db.close(),
    () => removeDir(dir),
  );
  return { db, dir };
}
async function prismaOn(db: PGlite): Promise<DiffEngine> {
  const engine = await openSchemaEngine({ database: db });
  cleanup.push(() => engine.close());
  return engine;
}
const columns = (db: PGlite) =>
  db
    .query(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    )
    .then((r) => r.rows);

describe("compatibility with Prisma's migrate deploy", () => {
  it('Prisma sees a database migrated by our runner as up to date', async () => {
    const { db, dir } = await setup();
    const committed = (await readMigrations(dir)).map((m) => m.name);
    expect((await applyMigrations(pgliteSqlClient(db), { migrationsDir: dir })).applied).toEqual(
      committed,
    );
    const prisma = await prismaOn(db);
    const list = await migrationsList(dir);
    const diagnosis = await prisma.engine.diagnoseMigrationHistory({
      migrationsList: list,
      optInToShadowDatabase: false,
      filters: FILTERS,
    });
    expect(diagnosis).toMatchObject({
      hasMigrationsTable: true,
      failedMigrationNames: [],
      editedMigrationNames: [],
      history: null,
    });
    const deployed = await prisma.engine.applyMigrations({
      migrationsList: list,
      filters: FILTERS,
    });
    expect(deployed.appliedMigrationNames).toEqual([]);
  });

  it('our runner continues a database that Prisma migrated, with the same table and rows', async () => {
    const { db, dir } = await setup();
    const prisma = await prismaOn(db);
    const committed = await readMigrations(dir);
    const deployed = await prisma.engine.applyMigrations({
      migrationsList: await migrationsList(dir),
      filters: FILTERS,
    });
    expect(deployed.appliedMigrationNames).toEqual(committed.map((m) => m.name));
    const rows = (
      await db.query<Record<string, unknown>>(
        'SELECT * FROM "_prisma_migrations" ORDER BY migration_name',
      )
    ).rows;
    expect(rows).toEqual(
      committed.map((m) =>
        expect.objectContaining({
          migration_name: m.name,
          checksum: checksum(m.sql),
          applied_steps_count: 1,
          logs: null,
        }),
      ),
    );

    // Same table definition as ours (created on a second, fresh database).
    const ours = await freshPglite();
    cleanup.push(() => ours.close());
    await applyMigrations(pgliteSqlClient(ours), { migrationsDir: dir });
    expect(await columns(ours)).toEqual(await columns(db));

    // A second migration: our runner applies only that one.
    const extraDir = await tempMigrations({
      '20990101000000_more': 'CREATE TABLE "more" ("id" INT);',
    });
    cleanup.push(() => removeDir(extraDir));
    const result = await applyMigrations(pgliteSqlClient(db), { migrationsDir: extraDir });
    expect(result.applied).toEqual(['20990101000000_more']);
  });

  it("Prisma refuses after our runner's failed migration (P3009), and sees our edit check", async () => {
    const broken = '20990101000000_broken';
    const { db, dir } = await setup({ [broken]: 'SELECT no_such_column;' });
    await expect(applyMigrations(pgliteSqlClient(db), { migrationsDir: dir })).rejects.toThrow(
      MigrationError,
    );
    const prisma = await prismaOn(db);
    const list = await migrationsList(dir);
    const err = await prisma.engine
      .applyMigrations({ migrationsList: list, filters: FILTERS })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'P3009' });
    expect(String((err as Error).message)).toContain(broken);
    const diagnosis = await prisma.engine.diagnoseMigrationHistory({
      migrationsList: list,
      optInToShadowDatabase: false,
      filters: FILTERS,
    });
    expect(diagnosis.failedMigrationNames).toEqual([broken]);

    // Edit the applied init: Prisma and our runner both notice.
    const [init] = await readMigrations(defaultMigrationsDir());
    await writeFile(join(dir, init.name, 'migration.sql'), init.sql + '\n-- edited\n');
    const edited = await prisma.engine.diagnoseMigrationHistory({
      migrationsList: await migrationsList(dir),
      optInToShadowDatabase: false,
      filters: FILTERS,
    });
    expect(edited.editedMigrationNames).toEqual([init.name]);
  });
});
