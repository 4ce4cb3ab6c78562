#!/usr/bin/env node
// Prints the SQL that the built SessionsRepository sends for the `me` hot
// path (findUserOfLiveSession) and for a rotation, with Prisma's query log,
// on a throwaway PostgreSQL database: how many statements, and which.
// Needs `npm run build` first.  node bench/query-shape.mjs
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { createBenchDatabase } from './lib/common.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const imp = (p) => import(pathToFileURL(join(ROOT, p)).href);
const { PrismaClient } = await imp('dist/src/generated/prisma/client.js');
const { SessionsRepository } = await imp('dist/src/sessions/sessions.repository.js');
const { applyMigrations, pgSqlClient } = await imp('dist/src/database/migrator.js');

const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const database = await createBenchDatabase(PG_ADMIN);
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
try {
  const mc = await pool.connect();
  await applyMigrations(pgSqlClient(mc), { log: () => {} });
  mc.release();
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    log: [{ emit: 'event', level: 'query' }],
  });
  let logged = [];
  prisma.$on('query', (e) =>
    logged.push(`${e.duration} ms  ${e.query.replace(/\s+/g, ' ')}  ${e.params}`),
  );
  // As the app wires it: the hot statements go to the pool, the rest through Prisma.
  const repo = new SessionsRepository(prisma, {
    kind: 'postgres',
    prisma,
    pool,
    close: async () => {},
  });
  const user = await prisma.user.create({
    data: { email: `q-${randomUUID()}@example.com`, passwordHash: 'x', name: 'Q' },
  });
  const s = await repo.create({
    userId: user.id,
    userAgent: null,
    ip: null,
    tokenHash: randomUUID(),
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  const show = async (title, fn) => {
    for (let i = 0; i < 100; i++) await fn(); // warm the JIT first
    logged = [];
    const t0 = performance.now();
    const n = 500;
    for (let i = 0; i < n; i++) await fn();
    const perCall = (performance.now() - t0) / n;
    const per = logged.length / n;
    const count = logged.length ? `${per} SQL statement(s) per call` : 'not through Prisma';
    console.log(`\n${title}: ${count}, ${perCall.toFixed(2)} ms per call (sequential, loopback)`);
    for (const l of logged.slice(0, per)) console.log(`  ${l}`);
  };
  await show('findUserOfLiveSession (the `me` hot path)', () =>
    repo.findUserOfLiveSession(user.id, s.id, new Date()),
  );
  await show('same, findFirst with select (no password_hash)', () =>
    prisma.user.findFirst({
      where: {
        id: user.id,
        sessions: { some: { id: s.id, revokedAt: null, expiresAt: { gt: new Date() } } },
      },
      select: { id: true, email: true, name: true, role: true, createdAt: true, updatedAt: true },
    }),
  );
  await show(
    'same as $queryRaw (one JOIN)',
    () =>
      prisma.$queryRaw`SELECT u.id, u.email, u.name, u.role::text AS role, u.created_at AS "createdAt", u.updated_at AS "updatedAt"
      FROM users u JOIN sessions s ON s.user_id = u.id
      WHERE s.id = ${s.id}::uuid AND u.id = ${user.id}::uuid AND s.revoked_at IS NULL AND s.expires_at > ${new Date()}`,
  );
  await show('raw pg, one JOIN (for comparison)', () =>
    pool.query({
      name: 'me',
      text: 'SELECT u.id, u.email, u.name, u.role, u.created_at, u.updated_at FROM users u JOIN sessions s ON s.user_id = u.id WHERE s.id = $1 AND u.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()',
      values: [s.id, user.id],
    }),
  );
  const rt = await prisma.refreshToken.findFirst({ where: { sessionId: s.id } });
  await show('findRefreshToken (refresh, step 1)', () => repo.findRefreshToken(rt.tokenHash));
  logged = [];
  await repo.rotate({
    parentId: rt.id,
    sessionId: s.id,
    childId: randomUUID(),
    childHash: randomUUID(),
    expiresAt: new Date(Date.now() + 86_400_000),
    now: new Date(),
  });
  console.log(`\nrotate (one transaction): ${logged.length} SQL statement(s)`);
  for (const l of logged) console.log(`  ${l}`);
  await prisma.$disconnect();
} finally {
  await pool.end();
  await database.drop();
}
