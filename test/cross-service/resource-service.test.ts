/**
 * Another team's service trusting our tokens (issue 14, "A second service
 * that trusts the tokens"): the built API (`node dist/main.mjs`, production
 * mode, ES256) and the notes service of examples/resource-service (`node
 * src/server.js`, installed from its own lockfile) run as processes. The
 * service knows only the API's discovery URL, the issuer and the audience.
 *
 * - Tokens of the API (register, login) are accepted, and each user sees
 *   only their own notes.
 * - Hostile tokens are refused with UNAUTHENTICATED / HTTP 401 and reveal no
 *   note: forged (a stranger's key with our kid or its own, an embedded
 *   `jwk`, a `jku` / `x5u` pointing at the attacker, which is never
 *   fetched), confused (HS256 keyed with our public key, `alg: none`),
 *   tampered (payload or signature changed) and claims we do not accept
 *   (expired, not yet valid, another issuer or audience, signed by our
 *   own key so that only the claim is wrong).
 * - Key rotation done as docs/deploying.md says, on two API instances behind
 *   one address: the service, never restarted, accepts tokens of both keys
 *   while both are published, refuses the old key's tokens once they
 *   expired, and refuses a token of the retired key once it left the set.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, type OwnedDatabase } from '../support/databases.js';
import { missing, PG_SERVER_URL } from '../support/services.js';
import {
  freePort,
  gql,
  startApi,
  startNotesService,
  type GqlAnswer,
  type Proc,
} from './support.js';
import {
  claimsOf,
  kidOf,
  newEs256Key,
  now,
  pemOfJwk,
  signEs256,
  signHs256,
  unsigned,
  withFlippedSignature,
  withPayload,
  type Es256Key,
} from './tokens.js';

const PASSWORD = 'correct horse battery staple';
const ISSUER = 'https://auth.example.test';
const AUDIENCE = 'notes-and-friends';

const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`;
const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }`;
const ME = `{ me { id } }`;
const WHOAMI = `{ whoami }`;
const NOTES = `{ whoami notes { id text } }`;
const ADD = `mutation($t: String!) { addNote(text: $t) { id text } }`;
const DELETE = `mutation($id: ID!) { deleteNote(id: $id) }`;

/** What the API needs in production, with this signing key (JWT_PRIVATE_KEY). */
function apiEnv(key: Es256Key, publicUrl: string, extra: Record<string, string>) {
  return {
    NODE_ENV: 'production',
    JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Required in production; nothing listens there (mails wait in the outbox).
    SMTP_URL: 'smtp://127.0.0.1:9',
    JWT_ALGORITHM: 'ES256',
    JWT_PRIVATE_KEY: key.privatePem,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    PUBLIC_URL: publicUrl,
    BCRYPT_ROUNDS: '4',
    AUTH_RATE_LIMIT: '1000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

const email = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}@example.com`;

async function register(
  api: string,
  tag: string,
): Promise<{ id: string; token: string; email: string }> {
  const e = email(tag);
  const r = await gql(`${api}/graphql`, REGISTER, { i: { email: e, password: PASSWORD } });
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return { id: r.data.register.user.id, token: r.data.register.accessToken, email: e };
}

async function login(api: string, address: string): Promise<string> {
  const r = await gql(`${api}/graphql`, LOGIN, { i: { email: address, password: PASSWORD } });
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data.login.accessToken;
}

/** The service's answer to a query with `Authorization: Bearer <token>`. */
const asBearer = (service: Proc, query: string, token: string, vars = {}) =>
  gql(service.url, query, vars, `Bearer ${token}`);

/** A refusal as a client sees it: HTTP 401, UNAUTHENTICATED, a Bearer challenge, no data. */
function expectRefused(r: GqlAnswer, message = 'Invalid access token'): void {
  expect(r.status).toBe(401);
  expect(r.code).toBe('UNAUTHENTICATED');
  expect(r.errors?.[0]?.message).toBe(message);
  expect(r.wwwAuthenticate).toMatch(/^Bearer /);
  expect(r.data ?? null).toBeNull();
}

/** The service's own log line for its latest refusal (jose's error code, never the token). */
function lastRefusal(service: Proc): string | undefined {
  const lines = service.lines.filter((l) => l.includes('"token_refused"'));
  return lines.length ? JSON.parse(lines.at(-1)!).reason : undefined;
}

describe('the notes service trusts the API tokens and nothing else', () => {
  const key = newEs256Key();
  let dataDir: string;
  let api: Proc;
  let service: Proc;
  let alice: { id: string; token: string; email: string };
  let bob: { id: string; token: string; email: string };
  let ourJwk: Record<string, unknown>;
  /** An attacker's server for jku / x5u: every request it gets is recorded. */
  let attacker: http.Server;
  const attackerHits: string[] = [];
  let attackerUrl: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-cross-service-'));
    const port = await freePort();
    api = await startApi(
      apiEnv(key, `http://127.0.0.1:${port}`, { DATA_DIR: dataDir, ACCESS_TOKEN_TTL: '10m' }),
      port,
    );
    service = await startNotesService({
      AUTH_DISCOVERY_URL: `${api.url}/.well-known/openid-configuration`,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
    });
    attacker = http.createServer((req, res) => {
      attackerHits.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [] }));
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
    alice = await register(api.url, 'alice');
    bob = await register(api.url, 'bob');
    const jwks = (await (await fetch(`${api.url}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    ourJwk = jwks.keys.find((k) => k.kid === kidOf(alice.token))!;
    expect(ourJwk).toBeDefined();
  });

  afterAll(async () => {
    await service?.stop();
    await api?.stop();
    await new Promise((r) => attacker?.close(r));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('accepts fresh tokens of register and login, and serves each user only their own notes', async () => {
    expect((await asBearer(service, WHOAMI, alice.token)).data).toEqual({ whoami: alice.id });
    const added = await asBearer(service, ADD, alice.token, { t: 'alice: buy milk' });
    expect(added.status).toBe(200);
    expect(added.data.addNote.text).toBe('alice: buy milk');
    await asBearer(service, ADD, bob.token, { t: 'bob: call mum' });

    // A new login of alice (another session, another token) sees the same notes.
    const aliceAgain = await login(api.url, alice.email);
    expect(aliceAgain).not.toBe(alice.token);
    const mine = await asBearer(service, NOTES, aliceAgain);
    expect(mine.data).toEqual({ whoami: alice.id, notes: [added.data.addNote] });

    const his = await asBearer(service, NOTES, bob.token);
    expect(his.data.whoami).toBe(bob.id);
    expect(his.data.notes.map((n: { text: string }) => n.text)).toEqual(['bob: call mum']);

    // bob cannot delete alice's note; alice can.
    const id = added.data.addNote.id;
    expect((await asBearer(service, DELETE, bob.token, { id })).data).toEqual({
      deleteNote: false,
    });
    expect((await asBearer(service, NOTES, alice.token)).data.notes).toHaveLength(1);
    expect((await asBearer(service, DELETE, alice.token, { id })).data).toEqual({
      deleteNote: true,
    });
    expect((await asBearer(service, NOTES, alice.token)).data.notes).toEqual([]);
    await asBearer(service, ADD, alice.token, { t: 'alice: the secret' });
    // An empty note is the caller's mistake, not an authentication problem.
    const empty = await asBearer(service, ADD, alice.token, { t: '   ' });
    expect([empty.status, empty.code]).toEqual([200, 'BAD_USER_INPUT']);
    expect((await asBearer(service, NOTES, alice.token)).data.notes).toHaveLength(1);
  });

  it('refuses a request without a token, or with something that is not a Bearer JWT', async () => {
    const none = await gql(service.url, NOTES);
    expectRefused(none, 'Missing Bearer access token');
    expect(none.wwwAuthenticate).toContain('error="invalid_request"');
    expectRefused(
      await gql(service.url, NOTES, {}, `Basic ${btoa('alice:pw')}`),
      'Missing Bearer access token',
    );
    expectRefused(await gql(service.url, NOTES, {}, 'Bearer not-a-jwt'));
    expectRefused(await gql(service.url, NOTES, {}, `Bearer ${alice.token}.extra`));
  });

  /** Alice's claims with a fresh exp: what an attacker wants the service to believe. */
  const aliceClaims = () => ({ ...claimsOf(alice.token), exp: now() + 600, iat: now() });

  it('refuses forged tokens: a stranger’s key with our kid or its own, an embedded jwk, a jku / x5u (never fetched)', async () => {
    const stranger = newEs256Key();
    const kid = kidOf(alice.token)!;
    const strangerJwk = { ...stranger.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
    const cases: [string, string, string][] = [
      [
        'our kid',
        await signEs256(stranger, { kid }, aliceClaims()),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      ],
      [
        'its own kid',
        await signEs256(stranger, { kid: 'stranger-1' }, aliceClaims()),
        'ERR_JWKS_NO_MATCHING_KEY',
      ],
      [
        'no kid',
        await signEs256(stranger, {}, aliceClaims()),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      ],
      [
        'embedded jwk',
        await signEs256(stranger, { kid, jwk: strangerJwk }, aliceClaims()),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      ],
      [
        'jku',
        await signEs256(
          stranger,
          { kid: 'stranger-2', jku: `${attackerUrl}/jwks.json` },
          aliceClaims(),
        ),
        'ERR_JWKS_NO_MATCHING_KEY',
      ],
      [
        'x5u',
        await signEs256(stranger, { kid, x5u: `${attackerUrl}/cert.pem` }, aliceClaims()),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      ],
    ];
    for (const [name, token, reason] of cases) {
      const r = await asBearer(service, NOTES, token);
      expectRefused(r);
      expect([name, lastRefusal(service)]).toEqual([name, reason]);
    }
    expect(attackerHits).toEqual([]);
  });

  it('refuses algorithm confusion: HS256 keyed with our public key (PEM or JWK), alg none', async () => {
    const kid = kidOf(alice.token)!;
    const pem = pemOfJwk(ourJwk);
    const cases: [string, string][] = [
      [
        'HS256, secret = our public key PEM',
        await signHs256(new TextEncoder().encode(pem), { kid }, aliceClaims()),
      ],
      [
        'HS256, secret = our public JWK',
        await signHs256(new TextEncoder().encode(JSON.stringify(ourJwk)), { kid }, aliceClaims()),
      ],
      ['alg none', unsigned({ kid }, aliceClaims())],
      ['alg none, no kid', unsigned({}, aliceClaims())],
      [
        'alg none with a signature',
        `${unsigned({ kid }, aliceClaims())}${alice.token.split('.')[2]}`,
      ],
    ];
    for (const [name, token] of cases) {
      expectRefused(await asBearer(service, NOTES, token));
      expect([name, lastRefusal(service)]).toEqual([name, 'ERR_JOSE_ALG_NOT_ALLOWED']);
    }
  });

  it('refuses tampered tokens: another sub, a later exp, a changed signature', async () => {
    const claims = claimsOf(bob.token);
    const cases: [string, string][] = [
      ["bob's token made alice's", withPayload(bob.token, { ...claims, sub: alice.id })],
      [
        'exp pushed a day later',
        withPayload(bob.token, { ...claims, exp: (claims.exp ?? 0) + 86_400 }),
      ],
      ['one signature character changed', withFlippedSignature(alice.token)],
      ['signature cut off', alice.token.split('.').slice(0, 2).join('.') + '.'],
    ];
    for (const [name, token] of cases) {
      expectRefused(await asBearer(service, NOTES, token));
      expect([name, lastRefusal(service)]).toEqual([name, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED']);
    }
    // The untouched tokens still work: the refusals were about the changes.
    expect((await asBearer(service, WHOAMI, bob.token)).data).toEqual({ whoami: bob.id });
  });

  it('refuses our own key’s signature on claims it must not accept: expired, not yet valid, other iss or aud, no exp or sub', async () => {
    const kid = kidOf(alice.token)!;
    const base = aliceClaims();
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['expired', { ...base, exp: now() - 30 }, 'ERR_JWT_EXPIRED', 'Access token expired'],
      [
        'not valid before an hour from now',
        { ...base, nbf: now() + 3600 },
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'Invalid access token',
      ],
      [
        'another issuer',
        { ...base, iss: 'https://evil.example' },
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'Invalid access token',
      ],
      [
        'another audience',
        { ...base, aud: 'someone-else' },
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'Invalid access token',
      ],
      [
        'no exp',
        { ...base, exp: undefined },
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'Invalid access token',
      ],
      [
        'no sub',
        { ...base, sub: undefined },
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'Invalid access token',
      ],
    ];
    for (const [name, claims, reason, message] of cases) {
      const token = await signEs256(key, { kid }, claims);
      const r = await asBearer(service, NOTES, token);
      expectRefused(r, message);
      expect([name, lastRefusal(service)]).toEqual([name, reason]);
    }
    // The same key and claims, nothing wrong: accepted (the refusals above are the claims').
    const good = await signEs256(key, { kid }, base);
    const r = await asBearer(service, NOTES, good);
    expect(r.data.whoami).toBe(alice.id);
    expect(r.data.notes.map((n: { text: string }) => n.text)).toEqual(['alice: the secret']);
  });

  it('answers 503 SERVICE_UNAVAILABLE (not 401: the token may be fine) when it cannot have the keys', async () => {
    const closedPort = await freePort();
    const down = await startNotesService({
      AUTH_DISCOVERY_URL: `http://127.0.0.1:${closedPort}/.well-known/openid-configuration`,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
    });
    const otherIssuer = await startNotesService({
      AUTH_DISCOVERY_URL: `${api.url}/.well-known/openid-configuration`,
      AUTH_ISSUER: 'https://not-the-issuer.example',
      AUTH_AUDIENCE: AUDIENCE,
    });
    try {
      for (const [svc, logged] of [
        [down, 'fetch failed'],
        [otherIssuer, `discovery issuer "${ISSUER}" is not AUTH_ISSUER`],
      ] as const) {
        const r = await asBearer(svc, NOTES, alice.token);
        expect(r.status).toBe(503);
        expect(r.code).toBe('SERVICE_UNAVAILABLE');
        expect(r.data ?? null).toBeNull();
        const why = svc.lines.filter((l) => l.includes('"keys_unavailable"'));
        expect(why.map((l) => JSON.parse(l).error).join('\n')).toContain(logged);
      }
      // The correctly configured service is not affected.
      expect((await asBearer(service, WHOAMI, alice.token)).data).toEqual({ whoami: alice.id });
    } finally {
      await down.stop();
      await otherIssuer.stop();
    }
  });

  it('never logs a token', () => {
    const log = service.lines.join('\n');
    for (const t of [alice.token, bob.token]) expect(log).not.toContain(t.split('.')[2]);
  });
});

/**
 * One address in front of instances (what a load balancer does): GET requests
 * go round robin to the instances on `ports`, and to the next one while an
 * instance is down (restarting).
 */
async function roundRobin(ports: number[]): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const server = http.createServer(async (req, res) => {
    for (let i = 0; i < ports.length; i++) {
      const port = ports[next++ % ports.length];
      try {
        const r = await fetch(`http://127.0.0.1:${port}${req.url}`, { method: req.method });
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'cache-control']) {
          const v = r.headers.get(h);
          if (v) headers[h] = v;
        }
        res.writeHead(r.status, headers).end(Buffer.from(await r.arrayBuffer()));
        return;
      } catch {
        /* that instance is down: the next one */
      }
    }
    res.writeHead(502).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe.skipIf(missing('postgres'))(
  'key rotation as docs/deploying.md does it, on two instances; the notes service is not restarted',
  () => {
    // Long enough for tokenA to outlive one restart of an instance on a busy machine.
    const TTL_SECONDS = 45;
    /** JWKS_MAX_AGE of the API, and the service's cache age: the wait between publishing and signing. */
    const MAX_AGE_MS = 3000;
    const keyA = newEs256Key();
    const keyB = newEs256Key();
    let db: OwnedDatabase;
    let lb: Awaited<ReturnType<typeof roundRobin>>;
    const ports: number[] = [];
    const instances: Proc[] = [];
    let service: Proc;
    let serviceByKid: Proc;

    /** The environment of every instance at a step of the procedure. */
    const envWith = (signer: Es256Key, published: Es256Key[]) => ({
      ...apiEnv(signer, lb.url, {
        DATABASE_URL: db.url,
        ACCESS_TOKEN_TTL: `${TTL_SECONDS}s`,
        JWKS_MAX_AGE: `${MAX_AGE_MS}ms`,
      }),
      JWT_PUBLISHED_KEYS: published.map((k) => k.publicPem).join('\n'),
    });
    const stepEnv = { current: {} as Record<string, string> };

    /** A rolling restart of instance i with the current step's configuration. */
    async function restart(i: number): Promise<void> {
      await instances[i].stop();
      instances[i] = await startApi(stepEnv.current, ports[i]);
    }
    const apiUrl = (i: number) => instances[i].url;

    async function jwksKids(): Promise<string[][]> {
      const out: string[][] = [];
      for (const i of [0, 1]) {
        const r = await fetch(`${apiUrl(i)}/.well-known/jwks.json`);
        const body = (await r.json()) as { keys: { kid: string }[] };
        out.push(body.keys.map((k) => k.kid).sort());
      }
      return out;
    }

    async function meOn(i: number, token: string): Promise<string | undefined> {
      const r = await gql(`${apiUrl(i)}/graphql`, ME, {}, `Bearer ${token}`);
      return r.data?.me?.id;
    }

    beforeAll(async () => {
      db = await createPgDatabase(PG_SERVER_URL, 'authxsvc');
      ports.push(await freePort(), await freePort());
      lb = await roundRobin(ports);
      stepEnv.current = envWith(keyA, []);
      for (const p of ports) instances.push(await startApi(stepEnv.current, p));
      service = await startNotesService({
        AUTH_DISCOVERY_URL: `${lb.url}/.well-known/openid-configuration`,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        // The service refreshes its keys by age only (as often as the API's Cache-Control
        // says); a token with an unknown kid does not make it fetch again within the test.
        AUTH_JWKS_CACHE_MAX_AGE_MS: String(MAX_AGE_MS),
        AUTH_JWKS_COOLDOWN_MS: String(3_600_000),
      });
      // The other way a client learns a new key: it keeps its key set for an hour, but a
      // token with an unknown kid makes it fetch the set again (no cooldown here).
      serviceByKid = await startNotesService({
        AUTH_DISCOVERY_URL: `${lb.url}/.well-known/openid-configuration`,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_JWKS_CACHE_MAX_AGE_MS: String(3_600_000),
        AUTH_JWKS_COOLDOWN_MS: '0',
      });
    });

    afterAll(async () => {
      await service?.stop();
      await serviceByKid?.stop();
      for (const p of instances) await p.stop();
      await lb?.close();
      await db?.drop();
    });

    it('publishes, switches, keeps the old key until its tokens expired, retires it', async () => {
      const servicePid = service.child.pid;
      const user = await register(apiUrl(0), 'rotation');
      const kidA = kidOf(user.token)!;
      const note = await asBearer(service, ADD, user.token, { t: 'kept across the rotation' });
      expect(note.data.addNote.text).toBe('kept across the rotation');
      // serviceByKid fetches (and then keeps) the key set of before the rotation: A only.
      expect((await asBearer(serviceByKid, WHOAMI, user.token)).data).toEqual({ whoami: user.id });
      expect(await jwksKids()).toEqual([[kidA], [kidA]]);

      // docs/deploying.md "Signing keys and rotation", from A to B.
      // Step 1, publish B: JWT_PUBLISHED_KEYS = B's public key on every instance; A still signs.
      stepEnv.current = envWith(keyA, [keyB]);
      await restart(0);
      await restart(1);
      const [kids0, kids1] = await jwksKids();
      expect(kids0).toEqual(kids1);
      expect(kids0).toHaveLength(2);
      const kidB = kids0.find((k) => k !== kidA)!;
      const stillA = await login(apiUrl(1), user.email);
      expect(kidOf(stillA)).toBe(kidA);
      expect((await asBearer(service, WHOAMI, stillA)).data).toEqual({ whoami: user.id });
      // Wait JWKS_MAX_AGE: every verifier's cached key set now has B.
      await sleep(MAX_AGE_MS + 500);

      // Step 2, sign with B: JWT_PRIVATE_KEY = B, JWT_PUBLISHED_KEYS = A's public key. Rolled
      // out instance 1 first, so for a while instance 0 still signs with A and instance 1 with B.
      stepEnv.current = envWith(keyB, [keyA]);
      await restart(1);
      const tokenB = await login(apiUrl(1), user.email);
      const tokenA = await login(apiUrl(0), user.email);
      expect([kidOf(tokenA), kidOf(tokenB)]).toEqual([kidA, kidB]);
      for (const t of [tokenA, tokenB]) {
        const r = await asBearer(service, NOTES, t);
        expect(r.data).toEqual({ whoami: user.id, notes: [note.data.addNote] });
        // Both instances accept both keys' tokens too.
        expect([await meOn(0, t), await meOn(1, t)]).toEqual([user.id, user.id]);
      }
      // serviceByKid's cached set has no B: the unknown kid makes it fetch the set again.
      expect((await asBearer(serviceByKid, WHOAMI, tokenB)).data).toEqual({ whoami: user.id });
      expect((await asBearer(serviceByKid, WHOAMI, tokenA)).data).toEqual({ whoami: user.id });
      await restart(0);
      expect(kidOf(await login(apiUrl(0), user.email))).toBe(kidB);
      // The old key's token, issued before the switch, still works everywhere.
      expect((await asBearer(service, WHOAMI, tokenA)).data).toEqual({ whoami: user.id });
      expect([await meOn(0, tokenA), await meOn(1, tokenA)]).toEqual([user.id, user.id]);

      // Wait ACCESS_TOKEN_TTL from when the last instance stopped signing with A: tokenA,
      // issued by instance 0 just before its restart, is the last of A's tokens.
      const expA = claimsOf(tokenA).exp!;
      await sleep(Math.max(0, (expA + 1) * 1000 - Date.now()));
      expectRefused(await asBearer(service, WHOAMI, tokenA), 'Access token expired');
      // A token signed with A that has not expired (the test holds A's private key)
      // still verifies while A is published...
      const lateA = await signEs256(
        keyA,
        { kid: kidA },
        { ...claimsOf(tokenA), iat: now(), exp: now() + 600 },
      );
      expect((await asBearer(service, WHOAMI, lateA)).data).toEqual({ whoami: user.id });

      // Step 3, retire A: JWT_PUBLISHED_KEYS unset. The service refuses A's signature once
      // its cached key set is older than JWKS_MAX_AGE.
      stepEnv.current = envWith(keyB, []);
      await restart(0);
      await restart(1);
      expect(await jwksKids()).toEqual([[kidB], [kidB]]);
      await sleep(MAX_AGE_MS + 500);
      expectRefused(await asBearer(service, WHOAMI, lateA));
      expect(lastRefusal(service)).toBe('ERR_JWKS_NO_MATCHING_KEY');
      const fresh = await login(apiUrl(1), user.email);
      expect(kidOf(fresh)).toBe(kidB);
      expect((await asBearer(service, NOTES, fresh)).data).toEqual({
        whoami: user.id,
        notes: [note.data.addNote],
      });

      // The same service processes throughout.
      expect(service.child.pid).toBe(servicePid);
      expect(service.child.exitCode).toBeNull();
      expect(serviceByKid.child.exitCode).toBeNull();
    });
  },
);
