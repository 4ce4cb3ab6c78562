import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/config/app-config.js';
import { ConfigError, parseEnv } from '../../src/config/config.schema.js';

const SECRET = 'q7Zk2vN9pX4sR8tW1yB6cF3hJ5mL0nQ2'; // 32 characters, not a placeholder
const SMTP_URL = 'smtp://mail.example.com:587'; // required in production
const MFA_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64'); // required in production
// Required in production for ES256 (the default); test/integration/keys-config.test.ts tests it.
const JWT_PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

function errorOf(raw: Record<string, string>): string {
  try {
    parseEnv(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`parseEnv accepted ${JSON.stringify(raw)}`);
}

/** docs/api.md, Configuration; src/config/config.schema.ts. */
describe('parseEnv', () => {
  it('has the documented defaults', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      DATA_DIR: '.data',
      ACCESS_TOKEN_TTL: 15 * 60_000,
      REFRESH_TOKEN_TTL: 7 * 86_400_000,
      REFRESH_REUSE_GRACE: 5_000,
      BCRYPT_ROUNDS: 12,
      AUTH_REFRESH_COOKIE: false,
      AUTH_RATE_LIMIT: 20,
      ADMIN_EMAILS: [],
    });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.JWT_ACCESS_SECRET).toBeUndefined();
  });

  it.each([
    ['900', 900_000],
    ['15m', 900_000],
    ['2s', 2_000],
    ['12h', 12 * 3_600_000],
  ])('ACCESS_TOKEN_TTL=%s is %i ms', (v, ms) => {
    expect(parseEnv({ ACCESS_TOKEN_TTL: v }).ACCESS_TOKEN_TTL).toBe(ms);
  });

  it('REFRESH_TOKEN_TTL=7d and REFRESH_REUSE_GRACE=0 are read', () => {
    const env = parseEnv({ REFRESH_TOKEN_TTL: '7d', REFRESH_REUSE_GRACE: '0' });
    expect(env.REFRESH_TOKEN_TTL).toBe(7 * 86_400_000);
    expect(env.REFRESH_REUSE_GRACE).toBe(0);
  });

  it('reads booleans, lists and numbers', () => {
    const env = parseEnv({
      AUTH_REFRESH_COOKIE: 'true',
      ADMIN_EMAILS: ' a@x.org, ,b@y.org ',
      PORT: '8080',
      BCRYPT_ROUNDS: '10',
      DATABASE_URL: 'postgresql://u@h/db',
    });
    expect(env.AUTH_REFRESH_COOKIE).toBe(true);
    expect(env.ADMIN_EMAILS).toEqual(['a@x.org', 'b@y.org']);
    expect(env.PORT).toBe(8080);
    expect(env.BCRYPT_ROUNDS).toBe(10);
    expect(env.DATABASE_URL).toBe('postgresql://u@h/db');
  });

  it('empty strings mean unset', () => {
    expect(parseEnv({ PORT: '', DATABASE_URL: '' })).toMatchObject({ PORT: 3000 });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['ACCESS_TOKEN_TTL', 'forever'],
    ['ACCESS_TOKEN_TTL', '0'],
    ['REFRESH_TOKEN_TTL', '-5'],
    ['BCRYPT_ROUNDS', '3'],
    ['BCRYPT_ROUNDS', '40'],
    ['AUTH_REFRESH_COOKIE', 'maybe'],
    ['AUTH_RATE_LIMIT', '0'],
    ['DATABASE_URL', 'mysql://root@localhost/db'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['NODE_ENV', 'staging'],
  ])('a bad %s (%j) is refused with a message naming it', (name, value) => {
    const msg = errorOf({ [name]: value });
    expect(msg).toContain(name);
  });

  it('names every bad variable at once', () => {
    const msg = errorOf({ PORT: 'x', BCRYPT_ROUNDS: 'y' });
    expect(msg).toContain('PORT');
    expect(msg).toContain('BCRYPT_ROUNDS');
  });

  it('production without JWT_ACCESS_SECRET is refused, naming it', () => {
    expect(errorOf({ NODE_ENV: 'production' })).toContain('JWT_ACCESS_SECRET');
  });

  it.each([
    'changeme',
    'secret',
    'CHANGE_ME_TO_A_LONG_RANDOM_STRING',
    'a'.repeat(64),
    'short-but-random-9f8e',
  ])('production with a placeholder or weak secret (%j) is refused', (s) => {
    expect(errorOf({ NODE_ENV: 'production', JWT_ACCESS_SECRET: s })).toContain(
      'JWT_ACCESS_SECRET',
    );
  });

  it('production with a real secret is accepted; development needs none', () => {
    expect(
      parseEnv({
        NODE_ENV: 'production',
        JWT_ACCESS_SECRET: SECRET,
        SMTP_URL,
        MFA_ENCRYPTION_KEY,
        JWT_PRIVATE_KEY,
      }).JWT_ACCESS_SECRET,
    ).toBe(SECRET);
    expect(() =>
      parseEnv({ NODE_ENV: 'development', JWT_ACCESS_SECRET: 'changeme' }),
    ).not.toThrow();
  });
});

describe('loadAppConfig', () => {
  it('outside production generates a secret in DATA_DIR once and keeps it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-config-'));
    try {
      const a = await loadAppConfig({ DATA_DIR: dir });
      const b = await loadAppConfig({ DATA_DIR: dir });
      expect(a.jwtAccessSecret.length).toBeGreaterThanOrEqual(32);
      expect(b.jwtAccessSecret).toBe(a.jwtAccessSecret);
      expect(readFileSync(join(dir, 'jwt-access-secret'), 'utf8').trim()).toBe(a.jwtAccessSecret);
      expect(a.isProduction).toBe(false);
      expect(a.dataDir).toBe(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses JWT_ACCESS_SECRET when given', async () => {
    const c = await loadAppConfig({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: SECRET,
      SMTP_URL,
      MFA_ENCRYPTION_KEY,
      JWT_PRIVATE_KEY,
    });
    expect(c.jwtAccessSecret).toBe(SECRET);
    expect(c.isProduction).toBe(true);
  });

  it('refuses production without a secret', async () => {
    await expect(loadAppConfig({ NODE_ENV: 'production' })).rejects.toThrow(/JWT_ACCESS_SECRET/);
  });
});
