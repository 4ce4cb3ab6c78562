import { generateKeyPairSync, sign } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_REFUSALS } from '../../src/auth/guards/access-token-refusal.js';
import { LogoutDocument, MeDocument, SessionsDocument } from '../generated/graphql.js';
import { startTestApp, TEST_PRIVATE_KEY, type GqlResponse, type TestApp } from '../support/app.js';
import { op, register } from './helpers.js';

/**
 * docs/api.md, Errors: every refused access token is UNAUTHENTICATED, and its
 * message and `extensions.reason` say which mistake it was (issue 17: "Every
 * access-token mistake answers the same ..."). Each case is made from a
 * genuine token, so it is refused for its one fault.
 */
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
const now = () => Math.floor(Date.now() / 1000);

function expectReason(r: GqlResponse<unknown>, reason: keyof typeof ACCESS_TOKEN_REFUSALS): void {
  expect(r.body.errors?.[0].extensions?.code, JSON.stringify(r.body)).toBe('UNAUTHENTICATED');
  expect(r.body.errors?.[0].extensions?.reason, JSON.stringify(r.body)).toBe(reason);
  expect(r.body.errors?.[0].message).toBe(ACCESS_TOKEN_REFUSALS[reason]);
  expect(r.body.data ?? null).toBeNull();
}

describe('access-token refusals say which mistake (ES256, the default)', () => {
  let t: TestApp;
  let kid: string;
  beforeAll(async () => {
    t = await startTestApp({});
  });
  afterAll(() => t?.close());

  const me = (opts: Parameters<typeof op>[3]) => op(t, MeDocument, {}, opts);
  const ours = (c: object) => jwt.sign(c, TEST_PRIVATE_KEY, { algorithm: 'ES256', keyid: kid });

  it('no header, "Bearer" alone, a wrong scheme, a bare token', async () => {
    const a = await register(t);
    expectReason(await me({}), 'ACCESS_TOKEN_MISSING');
    expectReason(await me({ headers: { authorization: 'Bearer ' } }), 'ACCESS_TOKEN_MISSING');
    expectReason(
      await me({ headers: { authorization: `Token ${a.accessToken}` } }),
      'ACCESS_TOKEN_WRONG_SCHEME',
    );
    expectReason(
      await me({ headers: { authorization: a.accessToken } }),
      'ACCESS_TOKEN_WRONG_SCHEME',
    );
    // the genuine token works (the refusals above are for the header alone)
    expect((await me({ token: a.accessToken })).body.errors).toBeUndefined();
  });

  it('a refresh token sent as Bearer', async () => {
    const a = await register(t);
    expect(a.refreshToken).toEqual(expect.any(String));
    expectReason(await me({ token: a.refreshToken! }), 'REFRESH_TOKEN_GIVEN');
  });

  it('not a JWT, or a JWT whose parts are not JSON', async () => {
    expectReason(await me({ token: 'hello' }), 'ACCESS_TOKEN_MALFORMED');
    expectReason(await me({ token: 'a.b.c' }), 'ACCESS_TOKEN_MALFORMED');
    expectReason(
      await me({ token: `${b64({ alg: 'ES256' })}.notjson.x` }),
      'ACCESS_TOKEN_MALFORMED',
    );
  });

  it('expired (signed by the server)', async () => {
    const a = await register(t);
    kid = JSON.parse(Buffer.from(a.accessToken.split('.')[0], 'base64url').toString()).kid;
    const past = now() - 60;
    expectReason(
      await me({ token: ours({ ...claimsOf(a.accessToken), iat: past - 900, exp: past }) }),
      'ACCESS_TOKEN_EXPIRED',
    );
  });

  it("another server's key, a tampered token, an unknown kid, alg none: the signature", async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    const [h, , s] = a.accessToken.split('.');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const cases = [
      jwt.sign(c, other.export({ type: 'pkcs8', format: 'pem' }), {
        algorithm: 'ES256',
        keyid: kid,
      }),
      `${h}.${b64({ ...c, sub: '00000000-0000-7000-8000-000000000000' })}.${s}`,
      `${a.accessToken.slice(0, -4)}AAAA`,
      jwt.sign(c, TEST_PRIVATE_KEY, { algorithm: 'ES256', keyid: 'no-such-key' }),
      `${b64({ alg: 'none', kid })}.${b64(c)}.`,
    ];
    for (const token of cases) expectReason(await me({ token }), 'ACCESS_TOKEN_SIGNATURE');
  });

  it('signed by the server but for another audience or issuer, not yet valid, or not an access token', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    for (const v of [
      { ...c, aud: 'another-api' },
      { ...c, iss: 'someone-else' },
      { ...c, nbf: now() + 600 },
      { ...c, typ: 'refresh' },
    ]) {
      expectReason(await me({ token: ours(v) }), 'ACCESS_TOKEN_CLAIMS');
    }
  });

  it('the session ended (logout), for me and any guarded operation', async () => {
    const a = await register(t);
    expect((await me({ token: a.accessToken })).body.errors).toBeUndefined();
    await op(t, LogoutDocument, {}, { token: a.accessToken });
    expectReason(await me({ token: a.accessToken }), 'SESSION_ENDED');
    expectReason(await op(t, SessionsDocument, {}, { token: a.accessToken }), 'SESSION_ENDED');
  });
});

describe('access-token refusals with EdDSA configured (jose verifies)', () => {
  let t: TestApp;
  const key = generateKeyPairSync('ed25519');
  beforeAll(async () => {
    t = await startTestApp({
      JWT_ALGORITHM: 'EdDSA',
      JWT_PRIVATE_KEY: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
  });
  afterAll(() => t?.close());

  it('expired, a foreign key, another audience, and the header mistakes', async () => {
    const a = await register(t);
    const c = claimsOf(a.accessToken);
    const header = JSON.parse(Buffer.from(a.accessToken.split('.')[0], 'base64url').toString());
    const signed = (k: typeof key.privateKey, claims: object) => {
      const input = `${b64(header)}.${b64(claims)}`;
      return `${input}.${sign(null, Buffer.from(input), k).toString('base64url')}`;
    };
    const me = (token: string) => op(t, MeDocument, {}, { token });
    expect((await me(signed(key.privateKey, c))).body.errors).toBeUndefined();
    expectReason(
      await me(signed(key.privateKey, { ...c, exp: now() - 5 })),
      'ACCESS_TOKEN_EXPIRED',
    );
    const foreign = generateKeyPairSync('ed25519').privateKey;
    expectReason(await me(signed(foreign, c)), 'ACCESS_TOKEN_SIGNATURE');
    // a forged token with a past exp is a signature fault, not "expired"
    expectReason(await me(signed(foreign, { ...c, exp: now() - 5 })), 'ACCESS_TOKEN_SIGNATURE');
    expectReason(await me(signed(key.privateKey, { ...c, aud: 'x' })), 'ACCESS_TOKEN_CLAIMS');
    expectReason(await op(t, MeDocument, {}, {}), 'ACCESS_TOKEN_MISSING');
    expectReason(await me(a.refreshToken!), 'REFRESH_TOKEN_GIVEN');
  });
});
