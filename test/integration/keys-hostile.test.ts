import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_REFUSALS } from '../../src/auth/guards/access-token-refusal.js';
import { MeDocument } from '../generated/graphql.js';
import { startTestApp, TEST_PRIVATE_KEY, type TestApp } from '../support/app.js';
import { op, register } from './helpers.js';

/**
 * Hostile access tokens against a server in ES256 mode (the default): the
 * algorithm and the key come from our configuration, never from the token.
 * Each forgery is built from the claims of a genuine token, and the control
 * (the same claims signed with our key, our kid, ES256) is accepted, so each
 * refusal is for the forgery's one flaw. Every refusal is UNAUTHENTICATED
 * with one of the access-token refusal messages (which mistake it was:
 * test/integration/access-token-messages.test.ts).
 */

const OUR_KEY = createPrivateKey(TEST_PRIVATE_KEY);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
const now = () => Math.floor(Date.now() / 1000);
const REFUSAL_MESSAGES: (string | undefined)[] = Object.values(ACCESS_TOKEN_REFUSALS);

/** A compact JWS signed by hand: any header, any algorithm, any key. */
function jws(header: object, claims: object, signer: (input: string) => Buffer): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${signer(input).toString('base64url')}`;
}
const es256 = (key: KeyObject) => (input: string) =>
  sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
const ed25519 = (key: KeyObject) => (input: string) => sign(null, Buffer.from(input), key);

/** A small HTTP server that counts the requests it gets and serves a JWKS. */
async function keyServer(jwks: object) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, hits, close: () => new Promise((r) => server.close(r)) };
}

describe('hostile access tokens (ES256 configured)', () => {
  let t: TestApp;
  let kid: string;
  let claims: Record<string, unknown>;
  let userId: string;
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  beforeAll(async () => {
    t = await startTestApp({});
    const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    kid = jwks.keys[0].kid;
    const a = await register(t);
    userId = a.user.id;
    claims = claimsOf(a.accessToken);
  });
  afterAll(() => t?.close());

  const me = (token: string) => op(t, MeDocument, {}, { token });
  /** Our key, our kid, ES256, with extra header members: what the server itself would sign. */
  const ours = (c: object, header: object = {}) =>
    jwt.sign(c, TEST_PRIVATE_KEY, { algorithm: 'ES256', keyid: kid, header: header as never });
  async function expectRefused(token: string) {
    const r = await me(token);
    expect(r.code).toBe('UNAUTHENTICATED');
    expect(REFUSAL_MESSAGES).toContain(r.errors?.[0].message);
    expect(r.data).toBeNull();
  }

  it('control: the same claims signed with our key, kid and ES256 are accepted', async () => {
    const r = await me(ours(claims));
    expect(r.errors).toBeUndefined();
    expect(r.data.me.id).toBe(userId);
    // The hand-made signer below makes tokens the server accepts, too.
    const byHand = jws({ alg: 'ES256', typ: 'JWT', kid }, claims, es256(OUR_KEY));
    expect((await me(byHand)).data.me.id).toBe(userId);
  });

  it('alg "none" (with our kid, empty or copied signature) is refused', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`;
    await expectRefused(unsigned);
    const copied = `${b64({ alg: 'none', kid })}.${b64(claims)}.${ours(claims).split('.')[2]}`;
    await expectRefused(copied);
    await expectRefused(`${b64({ alg: 'NONE', kid })}.${b64(claims)}.`);
  });

  it('algorithm confusion: HS256 keyed with our public key (PEM, and JWK JSON) is refused', async () => {
    const publicPem = createPublicKey(TEST_PRIVATE_KEY).export({ type: 'spki', format: 'pem' });
    const hmac = (secret: string | Buffer) => (input: string) =>
      createHmac('sha256', secret).update(input).digest();
    await expectRefused(jws({ alg: 'HS256', typ: 'JWT', kid }, claims, hmac(publicPem)));
    const jwkText = (await (await fetch(`${t.url}/.well-known/jwks.json`)).text()) as string;
    await expectRefused(jws({ alg: 'HS256', typ: 'JWT', kid }, claims, hmac(jwkText)));
    await expectRefused(jws({ alg: 'HS256', typ: 'JWT' }, claims, hmac(publicPem)));
  });

  it('a foreign EC P-256 key signing with our kid is refused', async () => {
    await expectRefused(jws({ alg: 'ES256', typ: 'JWT', kid }, claims, es256(attacker.privateKey)));
  });

  it('jku, jwk and x5u headers are never followed (the key server sees no request) and the token is refused', async () => {
    const attackerJwk = {
      ...(await exportJWK(attacker.publicKey)),
      alg: 'ES256',
      use: 'sig',
    };
    const attackerKid = await calculateJwkThumbprint(attackerJwk);
    const served = await keyServer({ keys: [{ ...attackerJwk, kid: attackerKid }] });
    try {
      const forged = (header: object) =>
        jws({ alg: 'ES256', typ: 'JWT', ...header }, claims, es256(attacker.privateKey));
      const tokens = [
        forged({ kid: attackerKid, jku: `${served.url}/jwks.json` }),
        forged({ kid, jku: `${served.url}/jwks.json` }),
        forged({ kid: attackerKid, jwk: { ...attackerJwk, kid: attackerKid } }),
        forged({ kid, jwk: attackerJwk }),
        forged({ jwk: attackerJwk }),
        forged({ kid: attackerKid, x5u: `${served.url}/cert.pem` }),
        forged({ kid, x5u: `${served.url}/cert.pem` }),
        // Signed by OUR key, but naming a key elsewhere: we never issue such a token.
        ours(claims, { jku: `${served.url}/jwks.json` }),
        ours(claims, { x5u: `${served.url}/cert.pem` }),
        ours(claims, { jwk: attackerJwk }),
        // A certificate chain in the header, and a critical extension we do not know.
        ours(claims, { x5c: ['MIIBszCCAVmgAwIBAgIUY2VydGlmaWNhdGU='] }),
        ours(claims, { crit: ['urn:example:unknown'], 'urn:example:unknown': true }),
      ];
      for (const token of tokens) await expectRefused(token);
      // The control of this test: the server is reachable and counts requests.
      await fetch(`${served.url}/probe`);
      expect(served.hits).toEqual(['/probe']);
    } finally {
      await served.close();
    }
  });

  it('a tampered payload (another sub, then a later exp) under the original signature is refused', async () => {
    const victim = await register(t);
    const genuine = ours(claims);
    const [h, , s] = genuine.split('.');
    await expectRefused(`${h}.${b64({ ...claims, sub: victim.user.id })}.${s}`);
    await expectRefused(`${h}.${b64({ ...claims, exp: now() + 86_400 })}.${s}`);
    // Flipping one character of the signature too.
    const flipped = s[5] === 'A' ? 'B' : 'A';
    await expectRefused(`${h}.${b64(claims)}.${s.slice(0, 5)}${flipped}${s.slice(6)}`);
  });

  it('an expired token (our key, exp in the past) is refused', async () => {
    await expectRefused(ours({ ...claims, iat: now() - 1000, exp: now() - 60 }));
    await expectRefused(ours({ ...claims, iat: now() - 1000, exp: now() - 1 }));
  });

  it('a token with nbf in the future is refused (nbf in the past is fine)', async () => {
    await expectRefused(ours({ ...claims, nbf: now() + 600 }));
    expect((await me(ours({ ...claims, nbf: now() - 10 }))).errors).toBeUndefined();
  });

  it('a wrong iss (or none) is refused', async () => {
    await expectRefused(ours({ ...claims, iss: 'https://evil.example' }));
    await expectRefused(ours({ ...claims, iss: undefined }));
  });

  it('a wrong aud (or none, or a list without ours) is refused', async () => {
    await expectRefused(ours({ ...claims, aud: 'another-api' }));
    await expectRefused(ours({ ...claims, aud: undefined }));
    await expectRefused(ours({ ...claims, aud: ['another-api', 'third-api'] }));
  });

  it('an EdDSA token is refused when ES256 is configured (its own kid, or ours)', async () => {
    const ed = generateKeyPairSync('ed25519');
    const edKid = await calculateJwkThumbprint(await exportJWK(ed.publicKey));
    await expectRefused(
      jws({ alg: 'EdDSA', typ: 'JWT', kid: edKid }, claims, ed25519(ed.privateKey)),
    );
    await expectRefused(jws({ alg: 'EdDSA', typ: 'JWT', kid }, claims, ed25519(ed.privateKey)));
  });

  it('an unknown kid, or none, is refused even with a signature by our key', async () => {
    const signed = (header: object) => jws(header, claims, es256(OUR_KEY));
    await expectRefused(signed({ alg: 'ES256', typ: 'JWT', kid: 'no-such-key' }));
    await expectRefused(signed({ alg: 'ES256', typ: 'JWT' }));
    await expectRefused(signed({ alg: 'ES256', typ: 'JWT', kid: 42 }));
    // Garbage headers are refused the same way (never a 500).
    await expectRefused(`${Buffer.from('not json').toString('base64url')}.${b64(claims)}.x`);
    await expectRefused(`${b64([1, 2])}.${b64(claims)}.x`);
  });
});

describe('hostile tokens when EdDSA is configured', () => {
  let t: TestApp;
  const ours = generateKeyPairSync('ed25519');
  beforeAll(async () => {
    t = await startTestApp({
      JWT_ALGORITHM: 'EdDSA',
      JWT_PRIVATE_KEY: ours.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
  });
  afterAll(() => t?.close());

  it('a genuine token works; one of a foreign Ed25519 key with our kid, an ES256 one, alg none and wrong aud are refused', async () => {
    const a = await register(t);
    const claims = claimsOf(a.accessToken);
    const kid = JSON.parse(Buffer.from(a.accessToken.split('.')[0], 'base64url').toString()).kid;
    const me = (token: string) => op(t, MeDocument, {}, { token });
    expect((await me(a.accessToken)).data.me.id).toBe(a.user.id);
    // Control: our own key by hand is accepted.
    expect(
      (await me(jws({ alg: 'EdDSA', typ: 'JWT', kid }, claims, ed25519(ours.privateKey)))).errors,
    ).toBeUndefined();
    const foreign = generateKeyPairSync('ed25519');
    const refused = [
      jws({ alg: 'EdDSA', typ: 'JWT', kid }, claims, ed25519(foreign.privateKey)),
      jws({ alg: 'ES256', typ: 'JWT', kid }, claims, es256(OUR_KEY)),
      `${b64({ alg: 'none', kid })}.${b64(claims)}.`,
      jws({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, aud: 'x' }, ed25519(ours.privateKey)),
      jws(
        { alg: 'EdDSA', typ: 'JWT', kid },
        { ...claims, exp: now() - 5 },
        ed25519(ours.privateKey),
      ),
      jws(
        { alg: 'EdDSA', typ: 'JWT', kid },
        { ...claims, nbf: now() + 600 },
        ed25519(ours.privateKey),
      ),
      jws(
        { alg: 'EdDSA', typ: 'JWT', kid, jku: 'http://127.0.0.1:9/jwks.json' },
        claims,
        ed25519(ours.privateKey),
      ),
    ];
    for (const token of refused) {
      const r = await me(token);
      expect(r.code).toBe('UNAUTHENTICATED');
      expect(REFUSAL_MESSAGES).toContain(r.errors?.[0].message);
    }
  });
});
