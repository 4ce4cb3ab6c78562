import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPgliteDatabase, type Database } from '../../src/database/prisma.js';

// The embedded default (no DATABASE_URL): PGlite opened with the wasm compiled
// once per process and a 16 MB buffer pool (src/database/prisma.ts).
describe('embedded PGlite database', () => {
  const dirs: string[] = [];
  const open: Database[] = [];
  afterAll(async () => {
    for (const db of open) await db.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('runs with a 16 MB shared buffer pool, migrated', async () => {
    const db = await openPgliteDatabase('memory://');
    open.push(db);
    const [row] = await db.prisma.$queryRaw<{ shared_buffers: string }[]>`SHOW shared_buffers`;
    expect(row.shared_buffers).toBe('16MB');
    expect(await db.prisma.user.count()).toBe(0);
  });

  it('opens several databases in one process (one compiled module) and keeps them apart', async () => {
    const a = await openPgliteDatabase('memory://');
    const b = await openPgliteDatabase('memory://');
    open.push(a, b);
    await a.prisma.user.create({ data: { email: 'a@example.com', passwordHash: 'x' } });
    expect(await a.prisma.user.count()).toBe(1);
    expect(await b.prisma.user.count()).toBe(0);
  });

  it('keeps its data in a directory across a close and a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-api-pglite-'));
    dirs.push(dir);
    const first = await openPgliteDatabase(join(dir, 'pgdata'));
    await first.prisma.user.create({ data: { email: 'kept@example.com', passwordHash: 'x' } });
    await first.close();
    const again = await openPgliteDatabase(join(dir, 'pgdata'));
    open.push(again);
    const users = await again.prisma.user.findMany({ select: { email: true } });
    expect(users).toEqual([{ email: 'kept@example.com' }]);
  });
});
