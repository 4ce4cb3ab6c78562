import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  RegisterDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { op, PASSWORD, register, uniqueEmail } from './helpers.js';

/**
 * Issue 15, hole 9: responses that carry tokens are never cached, and a
 * client that is not a trusted proxy cannot choose its request id (nor its
 * address). Here the test client (127.0.0.1) is not a trusted proxy.
 */
describe('response headers (TRUST_PROXY=10.0.0.0/8: the loopback client is not a proxy)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: '10.0.0.0/8' });
  });
  afterAll(() => t?.close());

  it('register, login, refreshToken and me answer with Cache-Control: no-store (errors too)', async () => {
    const a = await register(t);
    const login = await op(t, LoginDocument, { input: { email: a.email, password: PASSWORD } });
    const refreshed = await op(t, RefreshTokenDocument, {
      input: { refreshToken: login.data.login.refreshToken },
    });
    const me = await op(t, MeDocument, {}, { token: a.accessToken });
    const wrong = await op(t, LoginDocument, { input: { email: a.email, password: 'nope nope' } });
    expect(refreshed.errors).toBeUndefined();
    expect(wrong.code).toBe('UNAUTHENTICATED');
    for (const r of [login, refreshed, me, wrong]) {
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('an X-Request-Id from a client that is not a trusted proxy is replaced by a new id', async () => {
    const chosen = 'chosen-by-the-client-123';
    const r = await t.gql(`{ __typename }`, {}, { headers: { 'x-request-id': chosen } });
    const id = r.headers.get('x-request-id');
    expect(id).not.toBe(chosen);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('X-Forwarded-For from a client that is not a trusted proxy is not its address', async () => {
    const r = await op(
      t,
      RegisterDocument,
      { input: { email: uniqueEmail('xff'), password: PASSWORD } },
      { headers: { 'x-forwarded-for': '198.51.100.99' } },
    );
    expect(r.errors).toBeUndefined();
    const s = await t.db.prisma.session.findFirstOrThrow({
      where: { userId: r.data.register.user.id },
    });
    expect(s.ip).toBe('127.0.0.1');
  });
});
