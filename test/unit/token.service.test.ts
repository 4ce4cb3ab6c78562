import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../src/auth/token.service.js';
import { AppConfig } from '../../src/config/app-config.js';
import { parseEnv } from '../../src/config/config.schema.js';
import { loadKeySet } from '../../src/keys/key-set.js';

const SECRET = 'unit-test-secret-0123456789abcdefghijklmnop';
const pem = (type: 'ec' | 'ed25519') =>
  (type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519')
  ).privateKey
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
const EC_KEY = pem('ec');

async function make(secret = SECRET, env: Record<string, string> = {}) {
  const config = new AppConfig(
    parseEnv({ JWT_ALGORITHM: 'HS256', ...env }),
    '/nonexistent-data-dir',
    secret,
  );
  return new TokenService(config, await loadKeySet(config));
}

describe('TokenService access tokens', () => {
  const uid = '0190a0a0-0000-7000-8000-000000000001';
  const sid = '0190a0a0-0000-7000-8000-000000000002';
  const subject = { userId: uid, sessionId: sid, amr: ['pwd'], emailVerified: false };

  it.each([
    ['HS256', {}],
    ['ES256', { JWT_PRIVATE_KEY: EC_KEY }],
    ['EdDSA', { JWT_PRIVATE_KEY: pem('ed25519') }],
  ] as const)(
    '%s: signs with sub, sid, typ, iss, aud, exp = now + ACCESS_TOKEN_TTL (kid when asymmetric)',
    async (alg, env) => {
      const tokens = await make(SECRET, { JWT_ALGORITHM: alg, ...env });
      const before = Date.now();
      const { token, expiresAt } = tokens.signAccessToken(subject);
      const decoded = jwt.decode(token, { complete: true })!;
      expect(decoded.header.alg).toBe(alg);
      if (alg === 'HS256') expect(decoded.header.kid).toBeUndefined();
      else expect(decoded.header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(decoded.payload).toMatchObject({
        sub: uid,
        sid,
        typ: 'access',
        iss: 'auth-api',
        aud: 'auth-api',
      });
      const exp = (decoded.payload as { exp: number }).exp * 1000;
      expect(expiresAt.getTime()).toBe(exp);
      expect(exp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 15 * 60_000);
      expect(await tokens.verifyAccessToken(token)).toMatchObject({ sub: uid, sid });
    },
  );

  it('verify returns null for a foreign key, expiry, another typ/iss/aud, alg none, garbage', async () => {
    const tokens = await make();
    const good = jwt.decode(tokens.signAccessToken(subject).token) as Record<string, unknown>;
    const past = Math.floor(Date.now() / 1000) - 10;
    const other = await make('another-secret-0123456789abcdefghijklmnop');
    const bad = [
      other.signAccessToken(subject).token,
      jwt.sign({ ...good, exp: past }, SECRET),
      jwt.sign({ ...good, typ: 'refresh' }, SECRET),
      jwt.sign({ ...good, iss: 'other' }, SECRET),
      jwt.sign({ ...good, aud: 'other' }, SECRET),
      jwt.sign(good, SECRET, { algorithm: 'HS384' }),
      jwt.sign(good, '', { algorithm: 'none' }),
      'garbage',
      '',
    ];
    for (const t of bad) expect(await tokens.verifyAccessToken(t)).toBeNull();
    // The control: the same claims, signed right, verify.
    expect(await tokens.verifyAccessToken(jwt.sign(good, SECRET))).not.toBeNull();
  });

  it('honours JWT_ISSUER / JWT_AUDIENCE', async () => {
    const tokens = await make();
    const other = await make(SECRET, { JWT_ISSUER: 'iss-2', JWT_AUDIENCE: 'aud-2' });
    const t = other.signAccessToken(subject).token;
    expect(await other.verifyAccessToken(t)).not.toBeNull();
    expect(await tokens.verifyAccessToken(t)).toBeNull();
  });
});

describe('TokenService refresh tokens', () => {
  let tokens: TokenService;
  beforeAll(async () => {
    tokens = await make();
  });

  it('new tokens are 32 random bytes in base64url, all different', () => {
    const set = new Set(Array.from({ length: 100 }, () => tokens.newRefreshToken()));
    expect(set.size).toBe(100);
    for (const t of set) {
      expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    }
  });

  it('the child of a token is deterministic, differs per parent and per server secret', async () => {
    const p = tokens.newRefreshToken();
    const child = tokens.childRefreshToken(p);
    expect(child).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokens.childRefreshToken(p)).toBe(child);
    expect((await make()).childRefreshToken(p)).toBe(child);
    expect(child).not.toBe(p);
    expect(tokens.childRefreshToken(tokens.newRefreshToken())).not.toBe(child);
    expect((await make('another-secret-0123456789abcdefghijklmnop')).childRefreshToken(p)).not.toBe(
      child,
    );
  });

  it('stores only the SHA-256 hex of a token', () => {
    const h = tokens.hashRefreshToken('abc');
    expect(h).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
