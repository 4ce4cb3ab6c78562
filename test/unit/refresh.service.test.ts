import { createSecretKey } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { RefreshService } from '../../src/auth/refresh.service.js';
import { SessionIssuer } from '../../src/auth/session-issuer.service.js';
import { DeviceTokenService } from '../../src/devices/device-token.service.js';
import { TokenService } from '../../src/auth/token.service.js';
import { KeySet } from '../../src/keys/key-set.js';
import type { AuditRepository } from '../../src/audit/audit.repository.js';
import { AppError } from '../../src/common/errors.js';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import type { Transactions } from '../../src/database/transactions.js';
import type { ClientInfo } from '../../src/graphql/client-info.decorator.js';
import type {
  RefreshTokenRow,
  Rotation,
  SessionsRepository,
} from '../../src/sessions/sessions.repository.js';

const SECRET = 'unit-test-secret-0123456789abcdefghijklmnop';
const USER = {
  id: '0190a0a0-0000-7000-8000-0000000000aa',
  email: 'u@example.com',
  name: null,
  role: 'USER' as const,
  createdAt: new Date(),
  updatedAt: new Date(),
  emailVerifiedAt: null,
  mfaEnabled: false,
  disabledAt: null as Date | null,
};
const SESSION_ID = '0190a0a0-0000-7000-8000-0000000000bb';
const BROWSER: ClientInfo = { ip: '203.0.113.7', userAgent: 'Firefox/140', requestId: 'r1' };
const OTHER: ClientInfo = { ip: '203.0.113.7', userAgent: 'curl/8', requestId: 'r2' };

interface StoredRow {
  id: string;
  tokenHash: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  replacedById: string | null;
  rotatedByClient: string | null;
}

/**
 * RefreshService's decisions against an in-memory stand-in of the
 * repository (unit test: no database). The stand-in keeps rows by hash and
 * hands out SNAPSHOTS, as a database read does: two calls that read before
 * either rotates both see an unrotated row, and one of them loses rotate()'s
 * compare-and-swap.
 */
function setup(env: Record<string, string> = {}) {
  const config = new AppConfig(parseEnv({ BCRYPT_ROUNDS: '4', ...env }), '/tmp', SECRET);
  const keys = new KeySet('HS256', { key: createSecretKey(Buffer.from(SECRET)) }, new Map(), {
    keys: [],
  });
  const tokens = new TokenService(config, keys);
  const rows = new Map<string, StoredRow>();
  const session = {
    revokedAt: null as Date | null,
    expiresAt: new Date(Date.now() + 86_400_000),
  };
  const snapshot = (r: StoredRow): RefreshTokenRow => ({
    id: r.id,
    sessionId: SESSION_ID,
    tokenHash: r.tokenHash,
    expiresAt: r.expiresAt,
    rotatedAt: r.rotatedAt,
    session: { id: SESSION_ID, userId: USER.id, ...session, amr: ['pwd', 'otp'] },
    user: { ...USER },
  });
  const add = (token: string, over: Partial<StoredRow> = {}) => {
    const row: StoredRow = {
      id: `row-${rows.size}`,
      tokenHash: tokens.hashRefreshToken(token),
      expiresAt: new Date(Date.now() + 86_400_000),
      rotatedAt: null,
      replacedById: null,
      rotatedByClient: null,
      ...over,
    };
    rows.set(row.tokenHash, row);
    return row;
  };
  const byId = (id: string) => [...rows.values()].find((r) => r.id === id);
  const sessions = {
    findRefreshToken: vi.fn(async (hash: string) => {
      const r = rows.get(hash);
      return r ? snapshot(r) : null;
    }),
    rotate: vi.fn(
      async (a: {
        parentId: string;
        childHash: string;
        childId: string;
        expiresAt: Date;
        now: Date;
        client: string | null;
      }) => {
        const parent = byId(a.parentId)!;
        if (parent.rotatedAt || session.revokedAt) return false;
        Object.assign(parent, {
          rotatedAt: a.now,
          replacedById: a.childId,
          rotatedByClient: a.client,
        });
        add('', { id: a.childId, tokenHash: a.childHash, expiresAt: a.expiresAt });
        return true;
      },
    ),
    findRotation: vi.fn(async (parentId: string, now: Date): Promise<Rotation | null> => {
      const p = byId(parentId);
      const c = p?.replacedById ? byId(p.replacedById) : undefined;
      if (!p?.rotatedAt || !c) return null;
      return {
        rotatedAt: p.rotatedAt,
        rotatedByClient: p.rotatedByClient,
        childHash: c.tokenHash,
        childRotatedAt: c.rotatedAt,
        childExpiresAt: c.expiresAt,
        sessionLive: !session.revokedAt && session.expiresAt > now,
      };
    }),
    revoke: vi.fn(async (_tx: unknown, _id: string, _reason: string) => {
      const was = !session.revokedAt;
      session.revokedAt ??= new Date();
      return was;
    }),
  };
  const audit = { record: vi.fn(async () => {}) };
  const transactions = { run: (work: (tx: unknown) => Promise<unknown>) => work({}) };
  const issuer = new SessionIssuer(
    config,
    {} as never,
    sessions as unknown as SessionsRepository,
    {} as never,
    tokens,
    new DeviceTokenService(config),
  );
  const service = new RefreshService(
    config,
    sessions as unknown as SessionsRepository,
    tokens,
    issuer,
    transactions as unknown as Transactions,
    audit as unknown as AuditRepository,
  );
  return { service, tokens, sessions, audit, session, add, rows, byId };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('RefreshService', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
  });

  it.each([
    [null, 'REFRESH_TOKEN_MISSING'],
    [undefined, 'REFRESH_TOKEN_MISSING'],
    ['', 'REFRESH_TOKEN_MISSING'],
    ['short', 'REFRESH_TOKEN_MALFORMED'],
    ['x'.repeat(44), 'REFRESH_TOKEN_MALFORMED'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'ACCESS_TOKEN_GIVEN'],
  ])('refuses %j without touching the database, saying why (%s)', async (token, reason) => {
    const e = await refusal(s.service.refresh(token, BROWSER));
    expect(e.code).toBe('UNAUTHENTICATED');
    expect(e.details?.reason).toBe(reason);
    expect(s.sessions.findRefreshToken).not.toHaveBeenCalled();
  });

  it('an unknown token is refused and revokes nothing', async () => {
    const e = await refusal(s.service.refresh(s.tokens.newRefreshToken(), BROWSER));
    expect(e.details?.reason).toBe('REFRESH_TOKEN_UNKNOWN');
    expect(s.sessions.revoke).not.toHaveBeenCalled();
  });

  it('an expired token, or one of an ended session, is refused without rotation', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a, { expiresAt: new Date(Date.now() - 1) });
    expect((await refusal(s.service.refresh(a, BROWSER))).details?.reason).toBe(
      'REFRESH_TOKEN_EXPIRED',
    );
    const b = s.tokens.newRefreshToken();
    s.add(b);
    s.session.revokedAt = new Date();
    expect((await refusal(s.service.refresh(b, BROWSER))).details?.reason).toBe('SESSION_ENDED');
    expect(s.sessions.rotate).not.toHaveBeenCalled();
  });

  it("a live token rotates into its HMAC-derived child, keeping the session's amr", async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    const out = await s.service.refresh(a, BROWSER);
    expect(out.refreshToken).toBe(s.tokens.childRefreshToken(a));
    expect(s.sessions.rotate).toHaveBeenCalledTimes(1);
    expect(await s.tokens.verifyAccessToken(out.accessToken)).toMatchObject({
      sub: USER.id,
      sid: SESSION_ID,
      amr: ['pwd', 'otp'],
    });
  });

  it('a lost compare-and-swap reaches the grace path and gets the same child; nothing revoked', async () => {
    const a = s.tokens.newRefreshToken();
    const row = s.add(a);
    // Both read the row before either rotates: both call rotate, one loses.
    const [x, y] = await Promise.all([
      s.service.refresh(a, BROWSER),
      s.service.refresh(a, BROWSER),
    ]);
    expect(s.sessions.rotate).toHaveBeenCalledTimes(2);
    expect(await Promise.all(s.sessions.rotate.mock.results.map((r) => r.value))).toEqual([
      true,
      false,
    ]);
    expect(s.sessions.findRotation).toHaveBeenCalledTimes(1);
    expect(x.refreshToken).toBe(y.refreshToken);
    expect(row.rotatedAt).not.toBeNull();
    expect(s.sessions.revoke).not.toHaveBeenCalled();
  });

  it('inside the window, another client (user agent) presenting the rotated token is reuse', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    await s.service.refresh(a, BROWSER);
    const e = await refusal(s.service.refresh(a, OTHER));
    expect(e.details?.reason).toBe('REFRESH_TOKEN_REUSED');
    expect(s.sessions.revoke).toHaveBeenCalledWith({}, SESSION_ID, 'reuse');
    expect(s.audit.record).toHaveBeenCalledWith(
      {},
      expect.objectContaining({ type: 'REFRESH_TOKEN_REUSE', sessionId: SESSION_ID }),
    );
  });

  it('after the grace window a rotated token is reuse: the session is revoked', async () => {
    const a = s.tokens.newRefreshToken();
    const parent = s.add(a);
    await s.service.refresh(a, BROWSER);
    // Rotated 6 s ago (past the 5 s default), measured from the parent's rotation.
    parent.rotatedAt = new Date(Date.now() - 6_000);
    expect((await refusal(s.service.refresh(a, BROWSER))).details?.reason).toBe(
      'REFRESH_TOKEN_REUSED',
    );
    expect(s.sessions.revoke).toHaveBeenCalledWith({}, SESSION_ID, 'reuse');
  });

  it('a token whose child was rotated on is reuse even inside the window', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    const b = (await s.service.refresh(a, BROWSER)).refreshToken;
    await s.service.refresh(b, BROWSER);
    await refusal(s.service.refresh(a, BROWSER));
    expect(s.sessions.revoke).toHaveBeenCalledWith({}, SESSION_ID, 'reuse');
  });

  it('with REFRESH_REUSE_GRACE=0 any second presentation is reuse, even at once', async () => {
    s = setup({ REFRESH_REUSE_GRACE: '0' });
    const a = s.tokens.newRefreshToken();
    s.add(a);
    await s.service.refresh(a, BROWSER);
    await refusal(s.service.refresh(a, BROWSER));
    expect(s.sessions.revoke).toHaveBeenCalledWith({}, SESSION_ID, 'reuse');
  });

  it('a token of a disabled account that would otherwise work is FORBIDDEN', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    s.session.revokedAt = new Date();
    const row = await s.sessions.findRefreshToken(s.tokens.hashRefreshToken(a));
    s.sessions.findRefreshToken.mockResolvedValueOnce({
      ...row!,
      user: { ...row!.user, disabledAt: new Date() },
    });
    expect((await refusal(s.service.refresh(a, BROWSER))).code).toBe('FORBIDDEN');
  });
});
