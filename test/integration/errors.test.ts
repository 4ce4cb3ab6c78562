import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  RegisterDocument,
} from '../generated/graphql.js';
import { startTestApp, type GqlResponse, type TestApp } from '../support/app.js';
import { op, PASSWORD, register, uniqueEmail } from './helpers.js';

const ALLOWED_EXTENSION_KEYS = ['code', 'fields', 'retryAfter', 'limit', 'reason', 'mfaToken'];
const LEAKS =
  /SELECT|INSERT|UPDATE|relation|sessions|refresh_tokens|prisma|P20\d\d|stack|at \w+ \(|\.ts:\d+/i;

function expectNoLeak(r: GqlResponse<unknown>) {
  for (const e of r.errors ?? []) {
    expect(Object.keys(e.extensions ?? {}).every((k) => ALLOWED_EXTENSION_KEYS.includes(k))).toBe(
      true,
    );
  }
}

/** docs/api.md, Errors: INTERNAL_SERVER_ERROR never leaks a stack trace, SQL or driver text. */
describe('INTERNAL_SERVER_ERROR when the database fails under a resolver', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('every contract error carries only code and its documented extensions', async () => {
    const a = await register(t);
    const responses = [
      await op(t, RegisterDocument, { input: { email: 'bad', password: 'short' } }),
      await op(t, RegisterDocument, { input: { email: a.email, password: PASSWORD } }),
      await op(t, LoginDocument, { input: { email: a.email, password: 'wrong wrong' } }),
      await op(t, MeDocument, {}),
      await op(t, RefreshTokenDocument, { input: { refreshToken: 'nope' } }),
    ];
    expect(responses.map((r) => r.code)).toEqual([
      'BAD_USER_INPUT',
      'CONFLICT',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
    ]);
    responses.forEach(expectNoLeak);
  });

  it('a broken table: INTERNAL_SERVER_ERROR, fixed message, no SQL/stack; the app recovers', async () => {
    const a = await register(t);
    await t.db.prisma.$executeRawUnsafe('ALTER TABLE "sessions" RENAME TO "sessions_away"');
    let r: GqlResponse<unknown>;
    try {
      r = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    } finally {
      await t.db.prisma.$executeRawUnsafe('ALTER TABLE "sessions_away" RENAME TO "sessions"');
    }
    expect(r.status).toBe(200);
    expect(r.code).toBe('INTERNAL_SERVER_ERROR');
    expect(r.errors![0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(r.errors![0].message).not.toMatch(LEAKS);
    expect(JSON.stringify(r.body)).not.toMatch(LEAKS);
    // The server is fine afterwards.
    expect(
      (await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } })).errors,
    ).toBeUndefined();
  });

  it('GET /health answers 200 while the database answers', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
  });
});

/** docs/api.md, Configuration: NODE_ENV=production turns off introspection and field suggestions. */
describe('production mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production' });
  });
  afterAll(() => t?.close());

  it('introspection is off', async () => {
    const r = await t.gql(`{ __schema { types { name } } }`);
    expect(r.errors).toBeDefined();
    expect(r.data ?? null).toBeNull();
    expectNoLeak(r);
  });

  it('no field suggestions and no stack traces in errors', async () => {
    const r = await t.gql(`{ mee { id } }`);
    expect(r.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors![0].message).not.toMatch(/did you mean/i);
    expectNoLeak(r);
  });

  it('the API works as usual', async () => {
    const email = uniqueEmail();
    const a = await register(t, email);
    expect(a.user.email).toBe(email);
    const me = await op(t, MeDocument, {}, { token: a.accessToken });
    expect(me.data.me.id).toBe(a.user.id);
  });
});
