import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument, RefreshTokenDocument } from '../generated/graphql.js';
import { RETENTION_LOCK_KEY } from '../../src/retention/retention.job.js';
import { RetentionService } from '../../src/retention/retention.service.js';
import { buildServer, ROOT } from '../production/support.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, op, register } from './helpers.js';

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);
const hash = () => randomBytes(32).toString('hex');

/**
 * Bounded growth (issue 15): the retention cleanup deletes what the API no
 * longer needs and keeps what it does. Old rows are written straight into the
 * database with the ids and times they would have had (ids are UUIDv7).
 */
describe('retention cleanup', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      // A presented rotated token is reuse at once (no grace window to wait out).
      REFRESH_REUSE_GRACE: '0',
      AUDIT_RETENTION: '30d',
      SESSION_RETENTION: '1d',
      MAIL_RETENTION: '7d',
      RETENTION_INTERVAL: '0',
      RETENTION_BATCH_SIZE: '50',
    });
  });
  afterAll(() => t?.close());

  const cleanup = () => t.app.get(RetentionService).runOnce();
  const prisma = () => t.db.prisma;

  /** A row of an old refresh token in `sessionId`, issued `age` ago (and rotated). */
  const oldToken = (sessionId: string, age: number, ttl = 7 * DAY) => ({
    id: uuidv7({ msecs: Date.now() - age }),
    sessionId,
    tokenHash: hash(),
    createdAt: ago(age),
    expiresAt: new Date(Date.now() - age + ttl),
    rotatedAt: ago(age - 15 * 60_000),
  });

  it('a long-lived session keeps every rotated token until it expires: one rotated days ago is still caught as reuse', async () => {
    const u = await register(t);
    const t0 = u.refreshToken!;
    const r1 = await op(t, RefreshTokenDocument, { input: { refreshToken: t0 } });
    expect(r1.errors).toBeUndefined();
    const t1 = r1.data.refreshToken;
    const session = await prisma().session.findFirstOrThrow({ where: { userId: u.user.id } });
    // t0 as if it had been issued 6 days ago (it expires tomorrow), and 10 days of
    // rotations before it, all expired now.
    const first = await prisma().refreshToken.findFirstOrThrow({
      where: { sessionId: session.id, rotatedAt: { not: null } },
    });
    const sixDays = uuidv7({ msecs: Date.now() - 6 * DAY });
    await prisma().refreshToken.update({
      where: { id: first.id },
      data: { id: sixDays, createdAt: ago(6 * DAY), expiresAt: ago(-1 * DAY) },
    });
    await prisma().refreshToken.createMany({
      data: Array.from({ length: 300 }, (_, i) => oldToken(session.id, 7 * DAY + (i + 1) * 60_000)),
    });
    expect(await prisma().refreshToken.count({ where: { sessionId: session.id } })).toBe(302);

    const r = await cleanup();
    expect(r?.ran).toBe(true);
    expect(r?.deleted.refreshTokens).toBeGreaterThanOrEqual(300);
    const left = await prisma().refreshToken.findMany({ where: { sessionId: session.id } });
    // t0 (rotated six days ago, expires tomorrow) and t1 (live) are left.
    expect(left).toHaveLength(2);
    expect(left.map((x) => x.id)).toContain(sixDays);
    // The session lives on.
    expect((await op(t, MeDocument, {}, { token: t1.accessToken })).errors).toBeUndefined();

    // The six-day-old token comes back (the victim's laptop, woken up): reuse,
    // and the whole session ends, the live branch too.
    const reuse = await op(t, RefreshTokenDocument, { input: { refreshToken: t0 } });
    expect(reuse.code).toBe('UNAUTHENTICATED');
    const after = await prisma().session.findUniqueOrThrow({ where: { id: session.id } });
    expect(after.revokedReason).toBe('reuse');
    expect((await op(t, MeDocument, {}, { token: t1.accessToken })).code).toBe('UNAUTHENTICATED');
    const again = await op(t, RefreshTokenDocument, { input: { refreshToken: t1.refreshToken! } });
    expect(again.code).toBe('UNAUTHENTICATED');
  });

  it('keeps the tokens of a live session that has not expired, rotated or not', async () => {
    const u = await register(t);
    let rt = u.refreshToken!;
    for (let i = 0; i < 3; i++) {
      const r = await op(t, RefreshTokenDocument, { input: { refreshToken: rt } });
      rt = r.data.refreshToken.refreshToken!;
    }
    const sessionId = (await prisma().session.findFirstOrThrow({ where: { userId: u.user.id } }))
      .id;
    await cleanup();
    expect(await prisma().refreshToken.count({ where: { sessionId } })).toBe(4);
    expect(
      (await op(t, RefreshTokenDocument, { input: { refreshToken: rt } })).errors,
    ).toBeUndefined();
  });

  it('an ended session goes SESSION_RETENTION after its expiry, with its tokens; live and recently ended ones stay', async () => {
    const u = await register(t);
    const live = await login(t, u.email);
    const mk = (expiresAt: Date, revokedAt: Date | null) =>
      prisma().session.create({
        data: {
          userId: u.user.id,
          expiresAt,
          revokedAt,
          revokedReason: revokedAt ? 'logout' : null,
          createdAt: ago(9 * DAY),
          refreshTokens: { create: { tokenHash: hash(), expiresAt, createdAt: ago(2 * DAY) } },
        },
      });
    const expiredLongAgo = await mk(ago(2 * DAY), null);
    const revokedLongAgo = await mk(ago(3 * DAY), ago(4 * DAY));
    const expiredLately = await mk(ago(60 * 60_000), null);
    const revokedButNotExpired = await mk(ago(-3 * DAY), ago(DAY * 2));

    const r = await cleanup();
    expect(r?.deleted.sessions).toBeGreaterThanOrEqual(2);
    const ids = (await prisma().session.findMany({ where: { userId: u.user.id } })).map(
      (s) => s.id,
    );
    expect(ids).not.toContain(expiredLongAgo.id);
    expect(ids).not.toContain(revokedLongAgo.id);
    expect(ids).toContain(expiredLately.id);
    expect(ids).toContain(revokedButNotExpired.id);
    expect(
      await prisma().refreshToken.count({
        where: { sessionId: { in: [expiredLongAgo.id, revokedLongAgo.id] } },
      }),
    ).toBe(0);
    expect((await op(t, MeDocument, {}, { token: live.accessToken })).errors).toBeUndefined();
    expect((await op(t, MeDocument, {}, { token: u.accessToken })).errors).toBeUndefined();
  });

  it('expired verification/reset tokens and second-factor challenges go; unexpired ones stay (used or not)', async () => {
    const u = await register(t);
    // register's own verification token (unexpired) stays too
    const [registered] = await prisma().accountToken.findMany({ where: { userId: u.user.id } });
    expect(registered?.purpose).toBe('VERIFY_EMAIL');
    const token = (expiresAt: Date, usedAt: Date | null = null) =>
      prisma().accountToken.create({
        data: {
          userId: u.user.id,
          purpose: 'VERIFY_EMAIL',
          tokenHash: hash(),
          email: u.email,
          credentialsVersion: 0,
          expiresAt,
          usedAt,
        },
      });
    const challenge = (expiresAt: Date) =>
      prisma().mfaChallenge.create({
        data: { userId: u.user.id, tokenHash: hash(), credentialsVersion: 0, expiresAt },
      });
    const expired = await token(ago(60_000));
    const usedExpired = await token(ago(60_000), ago(2 * 60_000));
    const valid = await token(ago(-DAY));
    const usedValid = await token(ago(-DAY), ago(1000));
    const oldChallenge = await challenge(ago(1000));
    const liveChallenge = await challenge(ago(-5 * 60_000));

    await cleanup();
    const tokens = (await prisma().accountToken.findMany({ where: { userId: u.user.id } })).map(
      (x) => x.id,
    );
    expect(tokens.sort()).toEqual([registered.id, valid.id, usedValid.id].sort());
    expect(tokens).not.toContain(expired.id);
    expect(tokens).not.toContain(usedExpired.id);
    const challenges = (await prisma().mfaChallenge.findMany({ where: { userId: u.user.id } })).map(
      (x) => x.id,
    );
    expect(challenges).toEqual([liveChallenge.id]);
    expect(challenges).not.toContain(oldChallenge.id);
  });

  it('mails sent or given up go MAIL_RETENTION after they were queued; a mail still being retried never', async () => {
    const mail = (createdAt: Date, state: 'sent' | 'failed' | 'pending') =>
      prisma().mail.create({
        data: {
          to: 'someone@example.com',
          template: 'verify-email',
          payload: state === 'pending' ? 'encrypted' : null,
          createdAt,
          nextAttemptAt: state === 'pending' ? ago(-60_000) : null,
          sentAt: state === 'sent' ? createdAt : null,
          failedAt: state === 'failed' ? createdAt : null,
        },
      });
    const oldSent = await mail(ago(8 * DAY), 'sent');
    const oldFailed = await mail(ago(8 * DAY), 'failed');
    const oldPending = await mail(ago(8 * DAY), 'pending');
    const newSent = await mail(ago(6 * DAY), 'sent');
    await cleanup();
    const ids = (await prisma().mail.findMany()).map((m) => m.id);
    expect(ids).not.toContain(oldSent.id);
    expect(ids).not.toContain(oldFailed.id);
    expect(ids).toContain(oldPending.id);
    expect(ids).toContain(newSent.id);
  });

  it('works a backlog off in batches of RETENTION_BATCH_SIZE; a run stops after its batch limit and the next goes on', async () => {
    const u = await register(t);
    const sessionId = (await prisma().session.findFirstOrThrow({ where: { userId: u.user.id } }))
      .id;
    const rows = Array.from({ length: 260 }, (_, i) => oldToken(sessionId, 8 * DAY + i * 1000));
    await prisma().refreshToken.createMany({ data: rows });
    const count = () => prisma().refreshToken.count({ where: { sessionId } });
    const service = t.app.get(RetentionService);
    expect((await service.runOnce({ maxBatchesPerRule: 2 }))?.deleted.refreshTokens).toBe(100);
    expect(await count()).toBe(161);
    expect((await service.runOnce())?.deleted.refreshTokens).toBe(160);
    expect(await count()).toBe(1);
    expect((await op(t, MeDocument, {}, { token: u.accessToken })).errors).toBeUndefined();
  });

  it('security events go AUDIT_RETENTION after they happened', async () => {
    const ev = (age: number) =>
      prisma().securityEvent.create({
        data: { id: uuidv7({ msecs: Date.now() - age }), type: 'LOGIN', createdAt: ago(age) },
      });
    const old = await ev(31 * DAY);
    const recent = await ev(29 * DAY);
    await cleanup();
    const ids = (
      await prisma().securityEvent.findMany({ where: { id: { in: [old.id, recent.id] } } })
    ).map((e) => e.id);
    expect(ids).toEqual([recent.id]);
  });
});

describe('retention cleanup on its schedule', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RETENTION_INTERVAL: '1s' });
  });
  afterAll(() => t?.close());

  it('runs by itself every RETENTION_INTERVAL', async () => {
    const u = await register(t);
    const sessionId = (await t.db.prisma.session.findFirstOrThrow({ where: { userId: u.user.id } }))
      .id;
    const rows = Array.from({ length: 30 }, (_, i) => ({
      id: uuidv7({ msecs: Date.now() - 8 * DAY - i * 1000 }),
      sessionId,
      tokenHash: hash(),
      createdAt: ago(8 * DAY),
      expiresAt: ago(DAY),
    }));
    await t.db.prisma.refreshToken.createMany({ data: rows });
    const count = () =>
      t.db.prisma.refreshToken.count({ where: { id: { in: rows.map((r) => r.id) } } });
    await expect.poll(count, { timeout: 30_000, interval: 200 }).toBe(0);
    expect((await op(t, MeDocument, {}, { token: u.accessToken })).errors).toBeUndefined();
    expect(await t.db.prisma.refreshToken.count({ where: { sessionId } })).toBe(1);
  });
});

/** PostgreSQL only (its advisory lock): runs in the suite's run with TEST_DATABASE_URL. */
const onPostgres = !!process.env.TEST_DATABASE_URL;

describe.skipIf(!onPostgres)('retention cleanup on PostgreSQL: one instance at a time', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RETENTION_INTERVAL: '0' });
  });
  afterAll(() => t?.close());

  it('skips its run while another instance holds the lock, and runs once it is free', async () => {
    const url = t.databaseUrl!;
    const u = await register(t);
    const sessionId = (await t.db.prisma.session.findFirstOrThrow({ where: { userId: u.user.id } }))
      .id;
    const old = {
      id: uuidv7({ msecs: Date.now() - 8 * DAY }),
      sessionId,
      tokenHash: hash(),
      createdAt: ago(8 * DAY),
      expiresAt: ago(DAY),
    };
    await t.db.prisma.refreshToken.create({ data: old });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [RETENTION_LOCK_KEY]);
      const skipped = await t.app.get(RetentionService).runOnce();
      expect(skipped?.ran).toBe(false);
      expect(await t.db.prisma.refreshToken.count({ where: { id: old.id } })).toBe(1);
      await other.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
      const ran = await t.app.get(RetentionService).runOnce();
      expect(ran?.ran).toBe(true);
      expect(await t.db.prisma.refreshToken.count({ where: { id: old.id } })).toBe(0);
    } finally {
      await other.end();
    }
  });
});

describe.skipIf(!onPostgres)('npm run cleanup (src/cli/cleanup.ts)', () => {
  beforeAll(() => buildServer(), 600_000);

  it('works the whole backlog off on a PostgreSQL database and prints what it deleted', async () => {
    let t: TestApp | undefined;
    try {
      t = await startTestApp({ RETENTION_INTERVAL: '0' });
      const url = t.databaseUrl!;
      const u = await register(t);
      const sessionId = (
        await t.db.prisma.session.findFirstOrThrow({ where: { userId: u.user.id } })
      ).id;
      await t.db.prisma.refreshToken.createMany({
        data: Array.from({ length: 1200 }, (_, i) => ({
          id: uuidv7({ msecs: Date.now() - 8 * DAY - i * 1000 }),
          sessionId,
          tokenHash: hash(),
          createdAt: ago(8 * DAY),
          expiresAt: ago(DAY),
        })),
      });
      await t.db.prisma.securityEvent.create({
        data: {
          id: uuidv7({ msecs: Date.now() - 100 * DAY }),
          type: 'LOGIN',
          createdAt: ago(100 * DAY),
        },
      });
      const r = spawnSync(process.execPath, ['dist/src/cli/cleanup.js'], {
        env: {
          ...process.env,
          DATABASE_URL: url,
          RETENTION_BATCH_SIZE: '500',
          LOG_LEVEL: 'warn',
        },
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(line).toMatchObject({ event: 'retention', refreshTokens: 1200, securityEvents: 1 });
      expect(await t.db.prisma.refreshToken.count({ where: { sessionId } })).toBe(1);
      expect((await op(t, MeDocument, {}, { token: u.accessToken })).errors).toBeUndefined();
    } finally {
      await t?.close();
    }
  });
});
