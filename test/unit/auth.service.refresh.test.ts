import { JwtService } from '@nestjs/jwt';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthService } from '../../src/auth/auth.service.js';
import type { LoginAttemptStore } from '../../src/auth/login-attempts.js';
import { PasswordService } from '../../src/passwords/password.service.js';
import { TokenService } from '../../src/auth/token.service.js';
import { AppError, ErrorCode } from '../../src/common/errors.js';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import type {
  RefreshTokenRow,
  SessionsRepository,
} from '../../src/sessions/sessions.repository.js';
import type { UsersRepository } from '../../src/users/users.repository.js';

const SECRET = 'unit-test-secret-0123456789abcdefghijklmnop';
const USER = {
  id: '0190a0a0-0000-7000-8000-0000000000aa',
  email: 'u@example.com',
  name: null,
  role: 'USER' as const,
  passwordHash: '$2b$04$notreallyahash',
  createdAt: new Date(),
  updatedAt: new Date(),
  emailVerifiedAt: null,
  mfaEnabled: false,
  disabledAt: null,
};
const SESSION_ID = '0190a0a0-0000-7000-8000-0000000000bb';

type Row = RefreshTokenRow;

/**
 * AuthService.refresh decisions against an in-memory stand-in of the
 * repository (unit test: no database). The stub keeps refresh-token rows by
 * hash and implements rotate() as the compare-and-swap the real one does.
 */
function setup(env: Record<string, string> = {}) {
  const config = new AppConfig(parseEnv({ BCRYPT_ROUNDS: '4', ...env }), '/tmp', SECRET);
  const tokens = new TokenService(new JwtService({ secret: SECRET }), config);
  const rows = new Map<string, Row>();
  const session = {
    id: SESSION_ID,
    userId: USER.id,
    revokedAt: null as Date | null,
    expiresAt: new Date(Date.now() + 86_400_000),
  };
  const add = (token: string, over: Partial<Row> = {}) => {
    const hash = tokens.hashRefreshToken(token);
    const row: Row = {
      id: `row-${rows.size}`,
      sessionId: SESSION_ID,
      tokenHash: hash,
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 86_400_000),
      rotatedAt: null,
      replacedById: null,
      session,
      user: USER,
      ...over,
    };
    rows.set(hash, row);
    return row;
  };
  const sessions = {
    findRefreshToken: vi.fn(async (hash: string) => rows.get(hash) ?? null),
    rotate: vi.fn(
      async (a: {
        parentId: string;
        childHash: string;
        childId: string;
        expiresAt: Date;
        now: Date;
      }) => {
        const parent = [...rows.values()].find((r) => r.id === a.parentId)!;
        if (parent.rotatedAt || session.revokedAt) return false;
        parent.rotatedAt = a.now;
        parent.replacedById = a.childId;
        rows.set(a.childHash, {
          id: a.childId,
          sessionId: SESSION_ID,
          tokenHash: a.childHash,
          createdAt: a.now,
          expiresAt: a.expiresAt,
          rotatedAt: null,
          replacedById: null,
          session,
          user: USER,
        });
        return true;
      },
    ),
    revoke: vi.fn(async () => {
      const was = !session.revokedAt;
      session.revokedAt ??= new Date();
      return was;
    }),
  };
  // refresh() needs no UsersRepository: the token lookup brings the user.
  const users = {};
  const service = new AuthService(
    config,
    users as unknown as UsersRepository,
    sessions as unknown as SessionsRepository,
    new PasswordService(config),
    tokens,
    {} as LoginAttemptStore,
  );
  return { service, tokens, sessions, users, session, add, rows };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).code;
  }
}

describe('AuthService.refresh', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
  });

  it.each([null, undefined, '', 'short', 'x'.repeat(44), 'A'.repeat(42) + '='])(
    'refuses %j without touching the database',
    async (token) => {
      expect(await codeOf(s.service.refresh(token))).toBe(ErrorCode.UNAUTHENTICATED);
      expect(s.sessions.findRefreshToken).not.toHaveBeenCalled();
    },
  );

  it('an unknown token is UNAUTHENTICATED and revokes nothing', async () => {
    expect(await codeOf(s.service.refresh(s.tokens.newRefreshToken()))).toBe('UNAUTHENTICATED');
    expect(s.sessions.revoke).not.toHaveBeenCalled();
  });

  it('a token of a revoked or expired session, or an expired token, is refused without rotation', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a, { expiresAt: new Date(Date.now() - 1) });
    expect(await codeOf(s.service.refresh(a))).toBe('UNAUTHENTICATED');
    const b = s.tokens.newRefreshToken();
    s.add(b);
    s.session.revokedAt = new Date();
    expect(await codeOf(s.service.refresh(b))).toBe('UNAUTHENTICATED');
    expect(s.sessions.rotate).not.toHaveBeenCalled();
  });

  it('a live token rotates into its HMAC-derived child, in the same session', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    const out = await s.service.refresh(a);
    expect(out.refreshToken).toBe(s.tokens.childRefreshToken(a));
    expect(s.sessions.rotate).toHaveBeenCalledTimes(1);
    expect(s.sessions.rotate.mock.calls[0][0]).toMatchObject({
      sessionId: SESSION_ID,
      childHash: s.tokens.hashRefreshToken(out.refreshToken),
    });
    expect(s.tokens.verifyAccessToken(out.accessToken)).toMatchObject({
      sub: USER.id,
      sid: SESSION_ID,
    });
    expect(out.user).not.toHaveProperty('passwordHash');
  });

  it('inside the grace window a rotated token gets the same child again; nothing is revoked', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    const first = await s.service.refresh(a);
    const second = await s.service.refresh(a);
    expect(second.refreshToken).toBe(first.refreshToken);
    expect(s.sessions.revoke).not.toHaveBeenCalled();
    expect(s.sessions.rotate).toHaveBeenCalledTimes(1);
  });

  it('a lost compare-and-swap (concurrent winner) is answered like a rotated token: same child', async () => {
    const a = s.tokens.newRefreshToken();
    const row = s.add(a);
    // Both read the row before either rotates.
    const [x, y] = await Promise.all([s.service.refresh(a), s.service.refresh(a)]);
    expect(x.refreshToken).toBe(y.refreshToken);
    expect(row.rotatedAt).not.toBeNull();
    expect(s.sessions.revoke).not.toHaveBeenCalled();
  });

  it('after the grace window a rotated token is reuse: the session is revoked', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    await s.service.refresh(a);
    // The child was created 6 s ago (past the 5 s default).
    s.rows.get(s.tokens.hashRefreshToken(s.tokens.childRefreshToken(a)))!.createdAt = new Date(
      Date.now() - 6_000,
    );
    expect(await codeOf(s.service.refresh(a))).toBe('UNAUTHENTICATED');
    expect(s.sessions.revoke).toHaveBeenCalledWith(SESSION_ID, 'reuse');
  });

  it('a token whose child was rotated on is reuse even inside the window', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    const b = (await s.service.refresh(a)).refreshToken;
    await s.service.refresh(b);
    expect(await codeOf(s.service.refresh(a))).toBe('UNAUTHENTICATED');
    expect(s.sessions.revoke).toHaveBeenCalledWith(SESSION_ID, 'reuse');
  });

  it('with REFRESH_REUSE_GRACE=0 any second presentation is reuse, even at once', async () => {
    s = setup({ REFRESH_REUSE_GRACE: '0' });
    const a = s.tokens.newRefreshToken();
    s.add(a);
    await s.service.refresh(a);
    // Even in the very millisecond of the rotation.
    s.rows.get(s.tokens.hashRefreshToken(s.tokens.childRefreshToken(a)))!.createdAt = new Date(
      Date.now() + 1_000,
    );
    expect(await codeOf(s.service.refresh(a))).toBe('UNAUTHENTICATED');
    expect(s.sessions.revoke).toHaveBeenCalledWith(SESSION_ID, 'reuse');
  });

  it('a rotated token whose session was revoked meanwhile is refused', async () => {
    const a = s.tokens.newRefreshToken();
    s.add(a);
    const b = (await s.service.refresh(a)).refreshToken;
    s.session.revokedAt = new Date();
    expect(await codeOf(s.service.refresh(a))).toBe('UNAUTHENTICATED');
    expect(await codeOf(s.service.refresh(b))).toBe('UNAUTHENTICATED');
  });
});
