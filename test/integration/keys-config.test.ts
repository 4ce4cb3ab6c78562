import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/config.schema.js';

/** docs/deploying.md "Signing keys and rotation": what the server refuses to start with. */
const SECRET = 'q7Zk2vN9pX4sR8tW1yB6cF3hJ5mL0nQ2';
const PROD = {
  NODE_ENV: 'production',
  JWT_ACCESS_SECRET: SECRET,
  SMTP_URL: 'smtp://mail:25',
  MFA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};
const pem = (kind: 'p256' | 'p384' | 'ed25519' | 'rsa', type: 'pkcs8' | 'spki' = 'pkcs8') => {
  const pair =
    kind === 'p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : kind === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return (type === 'pkcs8' ? pair.privateKey : pair.publicKey)
    .export({ type, format: 'pem' } as never)
    .toString();
};
const errorOf = (env: Record<string, string>) => {
  try {
    parseEnv(env);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('signing key configuration', () => {
  it('production without JWT_PRIVATE_KEY refuses to start for ES256 (the default) and EdDSA, naming it', () => {
    expect(errorOf(PROD)).toMatch(
      /JWT_PRIVATE_KEY: is required in production for JWT_ALGORITHM=ES256/,
    );
    expect(errorOf({ ...PROD, JWT_ALGORITHM: 'EdDSA' })).toMatch(
      /JWT_PRIVATE_KEY: is required in production for JWT_ALGORITHM=EdDSA/,
    );
    // HS256 mode needs only JWT_ACCESS_SECRET, as in part 1.
    expect(errorOf({ ...PROD, JWT_ALGORITHM: 'HS256' })).toBe('');
    expect(errorOf({ ...PROD, JWT_PRIVATE_KEY: pem('p256') })).toBe('');
    // Outside production it may be unset: a key is generated in DATA_DIR.
    expect(errorOf({})).toBe('');
  });

  it('a key that is not PKCS#8 of the algorithm is refused, naming the variable, never echoing the key', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ JWT_PRIVATE_KEY: 'not a key' }, /JWT_PRIVATE_KEY: must be one PEM \(PKCS#8\) private key/],
      [{ JWT_PRIVATE_KEY: pem('p256', 'spki') }, /JWT_PRIVATE_KEY: must be one PEM \(PKCS#8\)/],
      [
        { JWT_PRIVATE_KEY: pem('p384') },
        /JWT_PRIVATE_KEY: must be an EC P-256 key for ES256, found an EC key on secp384r1/,
      ],
      [
        { JWT_PRIVATE_KEY: pem('rsa') },
        /JWT_PRIVATE_KEY: must be an EC P-256 key for ES256, found a key of type rsa/,
      ],
      [
        { JWT_PRIVATE_KEY: pem('p256'), JWT_ALGORITHM: 'EdDSA' },
        /JWT_PRIVATE_KEY: must be an Ed25519 key/,
      ],
      [
        { JWT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' },
        /JWT_PRIVATE_KEY: is not a readable PEM/,
      ],
      [
        { JWT_PUBLISHED_KEYS: pem('ed25519', 'spki') },
        /JWT_PUBLISHED_KEYS: key 1 must be an EC P-256 key/,
      ],
      [{ JWT_PUBLISHED_KEYS: 'garbage' }, /JWT_PUBLISHED_KEYS: must be PEM public keys/],
      [{ JWT_ALGORITHM: 'RS256' }, /JWT_ALGORITHM/],
      [{ JWT_ALGORITHM: 'none' }, /JWT_ALGORITHM/],
    ];
    for (const [env, message] of cases) {
      const m = errorOf(env);
      expect(m, JSON.stringify(env)).toMatch(message);
      // Never the key itself (no base64 run of a PEM body).
      expect(m).not.toMatch(/[A-Za-z0-9+/]{40,}/);
    }
  });

  it('accepts the PEM with literal \\n escapes (one-line secret stores) and several published keys', () => {
    const key = pem('p256');
    const env = parseEnv({
      JWT_PRIVATE_KEY: key.replace(/\n/g, '\\n'),
      JWT_PUBLISHED_KEYS: pem('p256', 'spki') + pem('p256', 'spki'),
    });
    expect(env.JWT_ALGORITHM).toBe('ES256');
    expect(env.JWKS_MAX_AGE).toBe(300_000);
  });
});
