import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeDocument } from '../generated/graphql.js';
import {
  createTestDatabase,
  startTestApp,
  TEST_PRIVATE_KEY,
  type TestApp,
} from '../support/app.js';
import { op, register } from './helpers.js';

/**
 * docs/api.md "Keys other services verify": the JWKS and discovery
 * documents, tokens signed with the published key (ES256 by default, EdDSA,
 * HS256), and the development key kept in DATA_DIR.
 */

interface Jwks {
  keys: Record<string, string>[];
}

const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, string>;
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

async function getJson(url: string) {
  const res = await fetch(url);
  return { res, body: (await res.json()) as Record<string, unknown> };
}

const pkcs8 = (kind: 'ec' | 'ed25519') =>
  (kind === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519')
  ).privateKey
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();

describe('ES256 (default): JWKS, discovery, and a service that knows only the JWKS URL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      JWT_ISSUER: 'https://auth.example.test',
      JWT_AUDIENCE: 'notes-api',
      PUBLIC_URL: 'https://auth.example.test/',
    });
  });
  afterAll(() => t?.close());

  it('GET /.well-known/jwks.json: the one public key, public members only, kid = RFC 7638 thumbprint', async () => {
    const { res, body } = await getJson(`${t.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const keys = (body as unknown as Jwks).keys;
    expect(keys).toHaveLength(1);
    const [k] = keys;
    expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(JSON.stringify(body)).not.toMatch(/"d"/);
    // The key is the public half of the configured private key.
    const expected = createPublicKey(TEST_PRIVATE_KEY).export({ format: 'jwk' });
    expect({ x: k.x, y: k.y }).toEqual({ x: expected.x, y: expected.y });
    expect(k.kid).toBe(
      await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: k.x, y: k.y }, 'sha256'),
    );
  });

  it('GET /.well-known/openid-configuration: issuer = the tokens iss, jwks_uri from PUBLIC_URL', async () => {
    const { res, body } = await getJson(`${t.url}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(body).toMatchObject({
      issuer: 'https://auth.example.test',
      jwks_uri: 'https://auth.example.test/.well-known/jwks.json',
      id_token_signing_alg_values_supported: ['ES256'],
    });
    const a = await register(t);
    expect(claimsOf(a.accessToken).iss).toBe(body.issuer);
    expect(claimsOf(a.accessToken).aud).toBe('notes-api');
  });

  it('a token carries the kid of the published key and verifies with jose createRemoteJWKSet over HTTP', async () => {
    const a = await register(t);
    const jwks = (await getJson(`${t.url}/.well-known/jwks.json`)).body as unknown as Jwks;
    expect(headerOf(a.accessToken)).toEqual({ alg: 'ES256', typ: 'JWT', kid: jwks.keys[0].kid });
    const remote = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(a.accessToken, remote, {
      issuer: 'https://auth.example.test',
      audience: 'notes-api',
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe(a.user.id);
    expect(protectedHeader.kid).toBe(jwks.keys[0].kid);
    // ...and the same verifier refuses the token for another audience.
    await expect(
      jwtVerify(a.accessToken, remote, { issuer: 'https://auth.example.test', audience: 'x' }),
    ).rejects.toThrow();
    expect((await op(t, MeDocument, {}, { token: a.accessToken })).data.me.id).toBe(a.user.id);
  });
});

describe('discovery defaults', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ PORT: '4123', JWKS_MAX_AGE: '0' });
  });
  afterAll(() => t?.close());

  it('jwks_uri is http://localhost:{PORT} without PUBLIC_URL; issuer auth-api; max-age 0 is no-cache', async () => {
    const { res, body } = await getJson(`${t.url}/.well-known/openid-configuration`);
    expect(body).toMatchObject({
      issuer: 'auth-api',
      jwks_uri: 'http://localhost:4123/.well-known/jwks.json',
    });
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });
});

describe('JWT_ALGORITHM=EdDSA', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pkcs8('ed25519') });
  });
  afterAll(() => t?.close());

  it('publishes an OKP Ed25519 key; its tokens verify here and with jose over HTTP', async () => {
    const jwks = (await getJson(`${t.url}/.well-known/jwks.json`)).body as unknown as Jwks;
    expect(jwks.keys).toHaveLength(1);
    expect(Object.keys(jwks.keys[0]).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    const a = await register(t);
    expect(headerOf(a.accessToken)).toMatchObject({ alg: 'EdDSA', kid: jwks.keys[0].kid });
    const remote = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(a.accessToken, remote, {
      issuer: 'auth-api',
      audience: 'auth-api',
      algorithms: ['EdDSA'],
    });
    expect(payload.sub).toBe(a.user.id);
    expect((await op(t, MeDocument, {}, { token: a.accessToken })).data.me.id).toBe(a.user.id);
  });
});

describe('JWT_ALGORITHM=HS256 (the symmetric mode of part 1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ JWT_ALGORITHM: 'HS256' });
  });
  afterAll(() => t?.close());

  it('the JWKS is {"keys": []}; tokens are HS256 without kid and work', async () => {
    const { body } = await getJson(`${t.url}/.well-known/jwks.json`);
    expect(body).toEqual({ keys: [] });
    const discovery = (await getJson(`${t.url}/.well-known/openid-configuration`)).body;
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['HS256']);
    const a = await register(t);
    expect(headerOf(a.accessToken)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect((await op(t, MeDocument, {}, { token: a.accessToken })).data.me.id).toBe(a.user.id);
  });
});

describe('the development key in DATA_DIR (no JWT_PRIVATE_KEY outside production)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-api-keys-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is generated once (0600), kept across restarts: same kid, earlier tokens still verify', async () => {
    // One database for both starts (PGlite in DATA_DIR, or one PostgreSQL database).
    const pg = await createTestDatabase();
    const env = {
      DATA_DIR: dataDir,
      JWT_PRIVATE_KEY: '',
      ...(pg ? { DATABASE_URL: pg.url } : {}),
    };
    const first = await startTestApp(env, { pgliteDir: join(dataDir, 'pgdata') });
    let kid: string;
    let token: string;
    try {
      const jwks = (await getJson(`${first.url}/.well-known/jwks.json`)).body as unknown as Jwks;
      kid = jwks.keys[0].kid;
      // Not the key every other test app gets.
      const testKid = await calculateJwkThumbprint(
        createPublicKey(TEST_PRIVATE_KEY).export({ format: 'jwk' }) as never,
      );
      expect(kid).not.toBe(testKid);
      token = (await register(first)).accessToken;
    } finally {
      await first.close();
    }
    const file = join(dataDir, 'jwt-signing-key-es256.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const second = await startTestApp(env, { pgliteDir: join(dataDir, 'pgdata') });
    try {
      const jwks = (await getJson(`${second.url}/.well-known/jwks.json`)).body as unknown as Jwks;
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
      expect((await op(second, MeDocument, {}, { token })).errors).toBeUndefined();
    } finally {
      await second.close();
      await pg?.drop();
    }
    expect(readdirSync(dataDir).filter((f) => f.startsWith('jwt-signing-key'))).toEqual([
      'jwt-signing-key-es256.pem',
    ]);
  });

  it('a file that holds no usable key is refused, naming the file, and left as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-api-badkey-'));
    try {
      // An EC key where EdDSA is configured: someone put it there.
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'jwt-signing-key-eddsa.pem'), pkcs8('ec'), { mode: 0o600 });
      await expect(
        startTestApp({ DATA_DIR: dir, JWT_PRIVATE_KEY: '', JWT_ALGORITHM: 'EdDSA' }),
      ).rejects.toThrow(/jwt-signing-key-eddsa\.pem: must be an Ed25519 key[\s\S]*JWT_PRIVATE_KEY/);
      expect(readFileSync(join(dir, 'jwt-signing-key-eddsa.pem'), 'utf8')).toMatch(/PRIVATE KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
