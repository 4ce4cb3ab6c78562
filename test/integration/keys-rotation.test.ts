import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServer,
  createDatabase,
  email,
  gqlAt,
  LOGIN,
  ME,
  REGISTER,
  startServer,
  type ServerProcess,
} from '../production/support.js';
import type { OwnedDatabase } from '../support/databases.js';
import { missing } from '../support/services.js';

/**
 * docs/deploying.md "Signing keys and rotation", step by step, with two
 * instances of the built server (`node dist/main.mjs`, production mode) on
 * one PostgreSQL database, restarted one after the other as a rolling
 * deployment does. At every point, a token from either instance works on
 * both, and a service that knows only an instance's JWKS URL (jose
 * createRemoteJWKSet) accepts it too.
 */

const PASSWORD = 'correct horse battery staple';
const newKey = () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pub: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const K1 = newKey();
const K2 = newKey();
const kidOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid as string;

describe.skipIf(missing('postgres'))('rotating the signing key across two instances', () => {
  let db: OwnedDatabase;
  const dirs: string[] = [];
  const running: Record<'a' | 'b', ServerProcess | undefined> = { a: undefined, b: undefined };
  const user = { email: email('rotation'), id: '' };

  function env(keys: { JWT_PRIVATE_KEY: string; JWT_PUBLISHED_KEYS?: string }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'auth-api-rotation-'));
    dirs.push(dataDir);
    return {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      JWT_ACCESS_SECRET: SECRET,
      MFA_ENCRYPTION_KEY: MFA_KEY,
      SMTP_URL: 'smtp://127.0.0.1:9',
      BCRYPT_ROUNDS: '4',
      AUTH_RATE_LIMIT: '100000',
      ACCESS_TOKEN_TTL: '10m',
      LOG_LEVEL: 'info',
      ...keys,
    };
  }
  const SECRET = randomBytes(32).toString('base64url');
  const MFA_KEY = randomBytes(32).toString('base64');

  /** Stops one instance (SIGTERM, as a rollout does) and starts it again with `keys`. */
  async function roll(name: 'a' | 'b', keys: Parameters<typeof env>[0]) {
    const old = running[name];
    if (old) {
      old.kill('SIGTERM');
      await old.exited;
    }
    running[name] = await startServer(env(keys));
  }
  const url = (name: 'a' | 'b') => running[name]!.url;

  async function tokenFrom(name: 'a' | 'b'): Promise<string> {
    const r = await gqlAt(url(name), LOGIN, { i: { email: user.email, password: PASSWORD } });
    expect(r.errors).toBeUndefined();
    return r.data.login.accessToken as string;
  }
  async function jwksKids(name: 'a' | 'b'): Promise<string[]> {
    const res = await fetch(`${url(name)}/.well-known/jwks.json`);
    return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  }
  async function acceptedBy(name: 'a' | 'b', token: string): Promise<boolean> {
    const r = await gqlAt(url(name), ME, {}, { token });
    if (r.errors) {
      expect(r.code).toBe('UNAUTHENTICATED');
      return false;
    }
    expect(r.data.me.id).toBe(user.id);
    return true;
  }
  /** What a service elsewhere sees: only the instance's JWKS URL, the issuer and the audience. */
  async function remoteAccepts(name: 'a' | 'b', token: string): Promise<boolean> {
    const jwks = createRemoteJWKSet(new URL(`${url(name)}/.well-known/jwks.json`));
    return jwtVerify(token, jwks, {
      issuer: 'auth-api',
      audience: 'auth-api',
      algorithms: ['ES256'],
    }).then(
      () => true,
      () => false,
    );
  }
  /** Every token works on both instances and with both JWKS URLs. */
  async function expectEverywhere(tokens: string[]) {
    for (const token of tokens) {
      for (const name of ['a', 'b'] as const) {
        expect(await acceptedBy(name, token), `${kidOf(token)} on ${name}`).toBe(true);
        expect(await remoteAccepts(name, token), `${kidOf(token)} via ${name}'s JWKS`).toBe(true);
      }
    }
  }

  beforeAll(async () => {
    buildServer();
    db = await createDatabase();
    await roll('a', { JWT_PRIVATE_KEY: K1.pem });
    await roll('b', { JWT_PRIVATE_KEY: K1.pem });
    const r = await gqlAt(url('a'), REGISTER, { i: { email: user.email, password: PASSWORD } });
    expect(r.errors).toBeUndefined();
    user.id = r.data.register.user.id;
  }, 240_000);

  afterAll(async () => {
    for (const s of [running.a, running.b]) {
      s?.kill('SIGKILL');
      await s?.exited;
    }
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('publish K2, sign with K2 while K1 still verifies, retire K1: no token refused on the way', async () => {
    // Before: both sign with K1 and publish only K1.
    const t0 = await tokenFrom('a');
    const k1 = kidOf(t0);
    expect(await jwksKids('a')).toEqual([k1]);
    expect(await jwksKids('b')).toEqual([k1]);
    await expectEverywhere([t0, await tokenFrom('b')]);

    // Step 1, publish K2 (JWT_PUBLISHED_KEYS), one instance after the other.
    const step1 = { JWT_PRIVATE_KEY: K1.pem, JWT_PUBLISHED_KEYS: K2.pub };
    await roll('a', step1);
    // Mid-rollout: a publishes K1 and K2, b only K1; everyone still signs with K1.
    const midA = await tokenFrom('a');
    expect(kidOf(midA)).toBe(k1);
    await expectEverywhere([t0, midA, await tokenFrom('b')]);
    await roll('b', step1);
    const [, k2] = await jwksKids('a');
    expect(k2).toBeDefined();
    expect(await jwksKids('a')).toEqual([k1, k2]);
    expect(await jwksKids('b')).toEqual([k1, k2]);
    const t1 = await tokenFrom('b');
    expect(kidOf(t1)).toBe(k1);
    await expectEverywhere([t0, t1]);

    // (docs: wait JWKS_MAX_AGE here.) Step 2, sign with K2, K1 published, rolling.
    const step2 = { JWT_PRIVATE_KEY: K2.pem, JWT_PUBLISHED_KEYS: K1.pub };
    await roll('a', step2);
    // Mid-rollout: a signs with K2 (b knows K2 from step 1), b signs with K1 (a still has it).
    const fromA = await tokenFrom('a');
    const fromB = await tokenFrom('b');
    expect(kidOf(fromA)).toBe(k2);
    expect(kidOf(fromB)).toBe(k1);
    await expectEverywhere([t0, t1, fromA, fromB]);
    await roll('b', step2);
    expect(await jwksKids('a')).toEqual([k2, k1]);
    expect(await jwksKids('b')).toEqual([k2, k1]);
    const t2 = await tokenFrom('b');
    expect(kidOf(t2)).toBe(k2);
    // Tokens signed by K1 before the switch still verify (until they expire).
    await expectEverywhere([t0, t1, fromB, fromA, t2]);

    // (docs: wait ACCESS_TOKEN_TTL here.) Step 3, retire K1.
    const step3 = { JWT_PRIVATE_KEY: K2.pem };
    await roll('a', step3);
    // Mid-rollout: both sign with K2; every K2 token works everywhere.
    await expectEverywhere([t2, await tokenFrom('a'), await tokenFrom('b')]);
    await roll('b', step3);
    expect(await jwksKids('a')).toEqual([k2]);
    expect(await jwksKids('b')).toEqual([k2]);
    await expectEverywhere([t2, await tokenFrom('a'), await tokenFrom('b')]);
    // K1 has left the set: a K1 token that had not expired yet (which is why
    // the procedure waits ACCESS_TOKEN_TTL first) is now refused everywhere.
    for (const name of ['a', 'b'] as const) {
      expect(await acceptedBy(name, t1)).toBe(false);
      expect(await remoteAccepts(name, t1)).toBe(false);
    }
  }, 300_000);
});
