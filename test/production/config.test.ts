import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema, parseEnv } from '../../src/config/config.schema.js';
import { ROOT } from './support.js';

describe('.env.example', () => {
  const text = readFileSync(`${ROOT}.env.example`, 'utf8');

  it('documents every variable of the config schema', () => {
    const keys = Object.keys(envSchema.shape);
    expect(keys.length).toBeGreaterThan(30);
    const missing = keys.filter((k) => !new RegExp(`^#?\\s*${k}=`, 'm').test(text));
    expect(missing).toEqual([]);
  });

  it('its documented values parse', () => {
    const entries = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=(.*)$/gm)].map(([, k, v]) => [k, v]);
    const env = Object.fromEntries(entries.filter(([k]) => k !== 'NODE_ENV'));
    expect(() => parseEnv(env)).not.toThrow();
  });
});

/** Required in production for ES256 (the default). */
const JWT_PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

describe('production configuration is checked at start', () => {
  it('requires a real JWT secret', () => {
    expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(/JWT_ACCESS_SECRET/);
    expect(() => parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'changeme' })).toThrow(
      /JWT_ACCESS_SECRET/,
    );
  });

  it('requires SMTP_URL (production refuses to start without it)', () => {
    const secret = 'q7Zk2vN9pX4sR8tW1yB6cF3hJ5mL0nQ2';
    expect(() => parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: secret })).toThrow(
      /SMTP_URL: is required in production/,
    );
    expect(() =>
      parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: secret, SMTP_URL: 'mail.example.com' }),
    ).toThrow(/SMTP_URL/);
    expect(
      parseEnv({
        NODE_ENV: 'production',
        JWT_ACCESS_SECRET: secret,
        JWT_PRIVATE_KEY,
        SMTP_URL: 'smtps://user:pass@mail.example.com:465',
        MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      }).SMTP_URL,
    ).toBe('smtps://user:pass@mail.example.com:465');
    // Outside production it may be unset: mails are written to DATA_DIR/mail.
    expect(parseEnv({}).SMTP_URL).toBeUndefined();
  });

  it('requires JWT_PRIVATE_KEY for ES256 (the default) and EdDSA, not for HS256', () => {
    const env = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 'q7Zk2vN9pX4sR8tW1yB6cF3hJ5mL0nQ2',
      SMTP_URL: 'smtp://mail.example.com',
      MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    };
    expect(() => parseEnv(env)).toThrow(/JWT_PRIVATE_KEY: is required in production/);
    expect(() => parseEnv({ ...env, JWT_ALGORITHM: 'EdDSA' })).toThrow(/JWT_PRIVATE_KEY/);
    expect(parseEnv({ ...env, JWT_ALGORITHM: 'HS256' }).JWT_ALGORITHM).toBe('HS256');
    expect(parseEnv({ ...env, JWT_PRIVATE_KEY }).JWT_ALGORITHM).toBe('ES256');
  });

  it('has the documented mail defaults', () => {
    expect(parseEnv({})).toMatchObject({
      APP_URL: 'http://localhost:5173',
      MAIL_FROM: 'auth-api <no-reply@localhost>',
      EMAIL_VERIFICATION_TTL: 24 * 3_600_000,
      PASSWORD_RESET_TTL: 3_600_000,
      ACCOUNT_MAIL_COOLDOWN: 60_000,
    });
    expect(() => parseEnv({ APP_URL: 'javascript:alert(1)' })).toThrow(/APP_URL/);
    expect(() => parseEnv({ APP_URL: 'https://app.example.com/?x=1' })).toThrow(/APP_URL/);
    expect(() => parseEnv({ MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' })).toThrow(/MAIL_FROM/);
  });

  it('refuses a wildcard CORS origin', () => {
    expect(() => parseEnv({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
    expect(
      parseEnv({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).CORS_ORIGINS,
    ).toEqual(['https://a.example', 'http://localhost:5173']);
  });

  it('has the documented defaults for the limits', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      GRAPHQL_MAX_DEPTH: 8,
      GRAPHQL_MAX_ALIASES: 30,
      GRAPHQL_MAX_TOKENS: 1000,
      GRAPHQL_MAX_COST: 5000,
      GRAPHQL_MAX_DIRECTIVES: 10,
      BODY_LIMIT: 100_000,
      DATABASE_CONNECT_TIMEOUT: 3000,
      DATABASE_QUERY_TIMEOUT: 5000,
      REDIS_COMMAND_TIMEOUT: 1000,
      SHUTDOWN_TIMEOUT: 10_000,
    });
  });
});
