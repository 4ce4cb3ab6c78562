import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MeDocument,
  RefreshTokenDocument,
  SessionsDocument,
  type RefreshTokenMutation,
} from '../generated/graphql.js';
import { v7 as uuidv7 } from 'uuid';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { startTestApp, type GqlResponse, type TestApp } from '../support/app.js';
import { codes, op, register, sessionIdOf } from './helpers.js';

const refresh = (t: TestApp, refreshToken: string | null) =>
  op(t, RefreshTokenDocument, { input: { refreshToken } });

/** Live (not rotated, session not revoked, not expired) refresh-token rows of a session. */
function liveTokenRows(t: TestApp, sessionId: string) {
  return t.db.prisma.refreshToken.count({
    where: {
      sessionId,
      rotatedAt: null,
      expiresAt: { gt: new Date() },
      session: { revokedAt: null },
    },
  });
}

/** docs/api.md, Semantics: rotation, reuse detection (REFRESH_REUSE_GRACE=0: no grace at all). */
describe('refresh-token rotation, strict (REFRESH_REUSE_GRACE=0)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ REFRESH_REUSE_GRACE: '0' });
  });
  afterAll(() => t?.close());

  it('rotation: a new token in the same session; the new one works', async () => {
    const r = await register(t);
    const a = await refresh(t, r.refreshToken);
    expect(a.errors).toBeUndefined();
    const b = a.data.refreshToken;
    expect(b.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.refreshToken).not.toBe(r.refreshToken);
    expect(b.user.id).toBe(r.user.id);
    expect(sessionIdOf(b.accessToken)).toBe(sessionIdOf(r.accessToken));
    // The new token rotates again, still in the one session.
    const c = await refresh(t, b.refreshToken);
    expect(c.errors).toBeUndefined();
    const s = await op(t, SessionsDocument, {}, { token: c.data.refreshToken.accessToken });
    expect(s.data.sessions.map((x) => x.id)).toEqual([sessionIdOf(r.accessToken)]);
    expect(await liveTokenRows(t, sessionIdOf(r.accessToken))).toBe(1);
  });

  it('reuse of a rotated token is UNAUTHENTICATED and revokes the whole session', async () => {
    const r = await register(t);
    const b = (await refresh(t, r.refreshToken)).data.refreshToken;
    const reuse = await refresh(t, r.refreshToken);
    expect(reuse.code).toBe('UNAUTHENTICATED');
    // The newest refresh token died with the session...
    expect((await refresh(t, b.refreshToken!)).code).toBe('UNAUTHENTICATED');
    // ...and so did its access token, and the first one.
    expect((await op(t, MeDocument, {}, { token: b.accessToken })).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: r.accessToken })).code).toBe('UNAUTHENTICATED');
    expect(await liveTokenRows(t, sessionIdOf(r.accessToken))).toBe(0);
  });

  it('reuse revokes only that session: the other sessions of the user live on', async () => {
    const r = await register(t);
    const other = await register(t); // another user, untouched
    const b = (await refresh(t, r.refreshToken)).data.refreshToken;
    expect((await refresh(t, r.refreshToken)).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: b.accessToken })).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: other.accessToken })).errors).toBeUndefined();
    expect((await refresh(t, other.refreshToken!)).errors).toBeUndefined();
  });

  it('unknown, malformed, empty and absent refresh tokens are UNAUTHENTICATED', async () => {
    for (const tok of ['A'.repeat(43), 'garbage', 'x'.repeat(500), '']) {
      expect((await refresh(t, tok)).code).toBe('UNAUTHENTICATED');
    }
    expect((await op(t, RefreshTokenDocument, {})).code).toBe('UNAUTHENTICATED');
  });

  it('10 concurrent refreshes with one token: exactly one succeeds, the session is then revoked', async () => {
    // With no grace window a concurrent refresh cannot be told from a replay:
    // the first one wins the swap, every other is reuse, and reuse ends the session.
    const r = await register(t);
    const sid = sessionIdOf(r.accessToken);
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(t, r.refreshToken)));
    const ok = results.filter((x) => !x.errors);
    expect(ok).toHaveLength(1);
    expect(results.flatMap((x) => codes(x)).filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(9);
    // Never two live tokens; here none at all, the session is revoked.
    expect(await liveTokenRows(t, sid)).toBe(0);
    const session = await t.db.prisma.session.findUniqueOrThrow({ where: { id: sid } });
    expect(session.revokedAt).not.toBeNull();
    const winner = ok[0].data.refreshToken;
    expect((await refresh(t, winner.refreshToken!)).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: winner.accessToken })).code).toBe(
      'UNAUTHENTICATED',
    );
  });
});

describe('refresh-token rotation inside a grace window (REFRESH_REUSE_GRACE=60s)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The maximum, so that a slow machine never pushes a concurrent call out of it.
    t = await startTestApp({ REFRESH_REUSE_GRACE: '60s' });
  });
  afterAll(() => t?.close());

  it('10 concurrent refreshes with one token never fork: one new token, one live row', async () => {
    const r = await register(t);
    const sid = sessionIdOf(r.accessToken);
    const results: GqlResponse<RefreshTokenMutation>[] = await Promise.all(
      Array.from({ length: 10 }, () => refresh(t, r.refreshToken)),
    );
    expect(results.flatMap((x) => codes(x))).not.toContain('INTERNAL_SERVER_ERROR');
    const ok = results.filter((x) => !x.errors).map((x) => x.data.refreshToken);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    // Inside the grace window every concurrent call is answered, with the same child.
    expect(ok).toHaveLength(10);
    expect(new Set(ok.map((p) => p.refreshToken)).size).toBe(1);
    expect(ok[0].refreshToken).not.toBe(r.refreshToken);
    expect(await liveTokenRows(t, sid)).toBe(1);
    // That one token works, in the same session.
    const next = await refresh(t, ok[0].refreshToken!);
    expect(next.errors).toBeUndefined();
    expect(sessionIdOf(next.data.refreshToken.accessToken)).toBe(sid);
  });

  it('a retry inside the grace window gets the same new token, and the session lives', async () => {
    const r = await register(t);
    const b1 = (await refresh(t, r.refreshToken)).data.refreshToken;
    const b2 = await refresh(t, r.refreshToken);
    expect(b2.errors).toBeUndefined();
    expect(b2.data.refreshToken.refreshToken).toBe(b1.refreshToken);
    expect(await liveTokenRows(t, sessionIdOf(r.accessToken))).toBe(1);
    expect((await op(t, MeDocument, {}, { token: b1.accessToken })).errors).toBeUndefined();
  });

  it("the grace window runs from the parent's rotated_at, whatever the child's created_at says", async () => {
    const within = await register(t);
    const c1 = (await refresh(t, within.refreshToken)).data.refreshToken;
    // The child's created_at far in the past: the retry is still inside the window.
    await t.db.prisma.refreshToken.updateMany({
      where: { sessionId: sessionIdOf(within.accessToken), rotatedAt: null },
      data: { createdAt: new Date(Date.now() - 3_600_000) },
    });
    const again = await refresh(t, within.refreshToken);
    expect(again.errors).toBeUndefined();
    expect(again.data.refreshToken.refreshToken).toBe(c1.refreshToken);

    const past = await register(t);
    const c2 = (await refresh(t, past.refreshToken)).data.refreshToken;
    // The parent's rotated_at 61 s back (the child's created_at untouched): reuse.
    await t.db.prisma.refreshToken.updateMany({
      where: { sessionId: sessionIdOf(past.accessToken), rotatedAt: { not: null } },
      data: { rotatedAt: new Date(Date.now() - 61_000) },
    });
    const late = await refresh(t, past.refreshToken);
    expect(late.errors?.[0].extensions?.reason).toBe('REFRESH_TOKEN_REUSED');
    expect((await refresh(t, c2.refreshToken!)).code).toBe('UNAUTHENTICATED');
  });

  it('the rotation statement itself refuses a session that has expired (the token still live)', async () => {
    const r = await register(t);
    const sid = sessionIdOf(r.accessToken);
    const parent = await t.db.prisma.refreshToken.findFirstOrThrow({ where: { sessionId: sid } });
    await t.db.prisma.session.update({
      where: { id: sid },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const sessions = t.app.get(SessionsRepository);
    const rotated = await sessions.rotate({
      parentId: parent.id,
      childId: uuidv7(),
      childHash: 'c'.repeat(64),
      expiresAt: new Date(Date.now() + 86_400_000),
      now: new Date(),
      client: null,
    });
    expect(rotated).toBe(false);
    const rows = await t.db.prisma.refreshToken.findMany({ where: { sessionId: sid } });
    expect(rows.map((x) => [x.id, x.rotatedAt])).toEqual([[parent.id, null]]);
    // Control: the same call on a live session rotates.
    await t.db.prisma.session.update({
      where: { id: sid },
      data: { expiresAt: new Date(Date.now() + 86_400_000) },
    });
    expect(
      await sessions.rotate({
        parentId: parent.id,
        childId: uuidv7(),
        childHash: 'c'.repeat(64),
        expiresAt: new Date(Date.now() + 86_400_000),
        now: new Date(),
        client: null,
      }),
    ).toBe(true);
  });

  it('a token two rotations old is reuse even inside the grace window: the session dies', async () => {
    const r = await register(t);
    const b = (await refresh(t, r.refreshToken)).data.refreshToken;
    const c = (await refresh(t, b.refreshToken!)).data.refreshToken;
    expect((await refresh(t, r.refreshToken)).code).toBe('UNAUTHENTICATED');
    expect((await refresh(t, c.refreshToken!)).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: c.accessToken })).code).toBe('UNAUTHENTICATED');
  });
});

describe('reuse after a short grace window (REFRESH_REUSE_GRACE=1s)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ REFRESH_REUSE_GRACE: '1s' });
  });
  afterAll(() => t?.close());

  it('the rotated token presented after the window revokes the session incl. the newest token', async () => {
    const r = await register(t);
    const b = (await refresh(t, r.refreshToken)).data.refreshToken;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await refresh(t, r.refreshToken)).code).toBe('UNAUTHENTICATED');
    expect((await refresh(t, b.refreshToken!)).code).toBe('UNAUTHENTICATED');
    expect((await op(t, MeDocument, {}, { token: b.accessToken })).code).toBe('UNAUTHENTICATED');
  });
});
