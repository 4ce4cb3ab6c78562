import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, readMigrations } from '../../src/database/migrator.js';
import {
  checkMigrations,
  createMigration,
  defaultPaths,
  migrationFolderName,
} from '../../scripts/lib/migrations.js';
import {
  MIGRATION_LOCK_TOML,
  openSchemaEngine,
  type DiffEngine,
} from '../../scripts/lib/schema-engine.js';
import { removeDir, tempMigrations } from './helpers.js';

// Loading the wasm engine and its PGlite takes seconds: one engine for the file.
let engine: DiffEngine;
const dirs: string[] = [];
beforeAll(async () => {
  engine = await openSchemaEngine();
});
afterAll(async () => {
  await engine?.close();
  await Promise.all(dirs.map(removeDir));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drift-'));
  dirs.push(dir);
  return dir;
}

/** schema.prisma with an extra nullable column on users, in a temp folder. */
async function driftedSchema(): Promise<string> {
  const path = join(await tempDir(), 'schema.prisma');
  const schema = await readFile(defaultPaths().schemaPath, 'utf8');
  const drifted = schema.replace(/(model User \{\n)/, '$1  nickname String?\n');
  expect(drifted).not.toBe(schema);
  await writeFile(path, drifted);
  return path;
}

describe('migration drift check', () => {
  it('finds the committed migrations in sync with schema.prisma', async () => {
    const result = await checkMigrations({ ...defaultPaths(), engine });
    expect(result.inSync).toBe(true);
  });

  it('reports drift, with the missing SQL, for a schema with an extra column', async () => {
    const schemaPath = await driftedSchema();
    const result = await checkMigrations({
      migrationsDir: defaultMigrationsDir(),
      schemaPath,
      engine,
    });
    expect(result.inSync).toBe(false);
    expect(result.sql).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"nickname" TEXT/);
  });

  it('fails when a migration does not apply cleanly to a fresh database', async () => {
    const migrationsDir = await tempMigrations({
      '20990101000000_broken': 'SELECT no_such_column;\n',
    });
    dirs.push(migrationsDir);
    await expect(
      checkMigrations({
        migrationsDir,
        schemaPath: defaultPaths().schemaPath,
        engine,
      }),
    ).rejects.toThrow(/20990101000000_broken[\s\S]*no_such_column/);
  });
});

describe('migration creation', () => {
  it('writes from an empty folder one migration that gives schema.prisma', async () => {
    const migrationsDir = await tempDir();
    const now = new Date('2030-01-02T03:04:05Z');
    const created = await createMigration({
      migrationsDir,
      schemaPath: defaultPaths().schemaPath,
      name: 'init',
      now,
      engine,
    });
    expect(created?.folder).toBe(join(migrationsDir, '20300102030405_init'));
    expect(created?.sql).toMatch(/CREATE TABLE "users"/);
    const check = await checkMigrations({
      migrationsDir,
      schemaPath: defaultPaths().schemaPath,
      engine,
    });
    expect(check).toEqual({ inSync: true, sql: expect.any(String) });
    const lock = await readFile(join(migrationsDir, 'migration_lock.toml'), 'utf8');
    expect(lock).toBe(MIGRATION_LOCK_TOML);
    expect(await readFile(join(defaultMigrationsDir(), 'migration_lock.toml'), 'utf8')).toBe(lock);
  });

  it('each committed migration is, byte for byte, what the engine writes after the ones before it', async () => {
    const committed = await readMigrations(defaultMigrationsDir());
    expect(committed.length).toBeGreaterThan(0);
    // The last one is written from the others and schema.prisma (they are in sync).
    const migrationsDir = await tempMigrations();
    dirs.push(migrationsDir);
    const last = committed.at(-1)!;
    await removeDir(join(migrationsDir, last.name));
    const created = await createMigration({
      migrationsDir,
      schemaPath: defaultPaths().schemaPath,
      name: 'again',
      engine,
    });
    expect(created?.sql).toBe(last.sql);
  });

  it('writes the next migration for a drifted schema, then reports no changes', async () => {
    const migrationsDir = await tempMigrations();
    dirs.push(migrationsDir);
    const schemaPath = await driftedSchema();
    const created = await createMigration({
      migrationsDir,
      schemaPath,
      name: 'add nickname',
      engine,
    });
    expect(created?.folder).toMatch(/\/\d{14}_add_nickname$/);
    expect(created?.sql).toMatch(/ADD COLUMN\s+"nickname"/);
    const committed = await readMigrations(defaultMigrationsDir());
    // the committed ones, the new one, the lock file
    expect(await readdir(migrationsDir)).toHaveLength(committed.length + 2);
    expect((await checkMigrations({ migrationsDir, schemaPath, engine })).inSync).toBe(true);
    expect(
      await createMigration({
        migrationsDir,
        schemaPath,
        name: 'again',
        engine,
      }),
    ).toBeNull();
  });

  it('names folders like Prisma: UTC stamp and a safe name', () => {
    expect(migrationFolderName('add users', new Date('2024-12-31T23:59:58Z'))).toBe(
      '20241231235958_add_users',
    );
    expect(() => migrationFolderName(' !! ')).toThrow(/invalid migration name/);
  });
});

describe('npm run migrate:check', () => {
  it('exits 0 on the committed tree', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/migrate-check.ts'],
      { cwd: join(defaultMigrationsDir(), '..', '..') },
    );
    expect(stdout).toContain('in sync');
  });
});
