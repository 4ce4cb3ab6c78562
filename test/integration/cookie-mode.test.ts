import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  RegisterDocument,
} from '../generated/graphql.js';
import { startTestApp, type GqlResponse, type TestApp } from '../support/app.js';
import { op, PASSWORD, uniqueEmail } from './helpers.js';

const TTL_SECONDS = 3600;

interface SetCookie {
  name: string;
  value: string;
  attrs: Record<string, string | true>;
}

/** The refresh cookie of a response's Set-Cookie headers. */
function refreshCookie(r: GqlResponse<unknown>): SetCookie | undefined {
  for (const line of r.setCookie) {
    const [pair, ...rest] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    if (name !== 'refresh_token') continue;
    const attrs: Record<string, string | true> = {};
    for (const a of rest) {
      const i = a.indexOf('=');
      if (i < 0) attrs[a.toLowerCase()] = true;
      else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
    }
    return { name, value: decodeURIComponent(pair.slice(eq + 1)), attrs };
  }
  return undefined;
}

const cookieHeader = (c: SetCookie) => `${c.name}=${encodeURIComponent(c.value)}`;

/** docs/api.md, Transport: AUTH_REFRESH_COOKIE=true. */
describe('refresh token as an HttpOnly cookie (AUTH_REFRESH_COOKIE=true)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      AUTH_REFRESH_COOKIE: 'true',
      REFRESH_TOKEN_TTL: `${TTL_SECONDS}s`,
      REFRESH_REUSE_GRACE: '0',
    });
  });
  afterAll(() => t?.close());

  async function registerWithCookie() {
    const email = uniqueEmail('cookie');
    const r = await op(t, RegisterDocument, { input: { email, password: PASSWORD } });
    expect(r.errors).toBeUndefined();
    const c = refreshCookie(r);
    expect(c).toBeDefined();
    return { email, payload: r.data.register, cookie: c! };
  }

  it('register: refreshToken is null, the cookie is HttpOnly, SameSite, Path=/graphql, Max-Age ≤ TTL', async () => {
    const { payload, cookie } = await registerWithCookie();
    expect(payload.refreshToken).toBeNull();
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.attrs.httponly).toBe(true);
    expect(String(cookie.attrs.samesite).toLowerCase()).toMatch(/^(strict|lax)$/);
    expect(cookie.attrs.path).toBe('/graphql');
    const maxAge = Number(cookie.attrs['max-age']);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(TTL_SECONDS);
    // Not in production: no Secure (so it works on http://localhost).
    expect(cookie.attrs.secure).toBeUndefined();
    // The response body never carries the token.
    expect(JSON.stringify(payload)).not.toContain(cookie.value);
  });

  it('login sets the cookie too', async () => {
    const { email } = await registerWithCookie();
    const r = await op(t, LoginDocument, { input: { email, password: PASSWORD } });
    expect(r.data.login.refreshToken).toBeNull();
    expect(refreshCookie(r)?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refreshToken with no input reads the cookie and rotates it; the old cookie then fails', async () => {
    const { cookie, payload } = await registerWithCookie();
    const r = await op(t, RefreshTokenDocument, {}, { cookie: cookieHeader(cookie) });
    expect(r.errors).toBeUndefined();
    expect(r.data.refreshToken.refreshToken).toBeNull();
    expect(r.data.refreshToken.user.id).toBe(payload.user.id);
    const next = refreshCookie(r)!;
    expect(next.value).not.toBe(cookie.value);
    expect(next.attrs.httponly).toBe(true);
    // With an empty input object as well.
    const again = await op(t, RefreshTokenDocument, { input: {} }, { cookie: cookieHeader(next) });
    expect(again.errors).toBeUndefined();
    const old = await op(t, RefreshTokenDocument, {}, { cookie: cookieHeader(cookie) });
    expect(old.code).toBe('UNAUTHENTICATED');
  });

  it('refreshToken with neither input nor cookie is UNAUTHENTICATED', async () => {
    expect((await op(t, RefreshTokenDocument, {})).code).toBe('UNAUTHENTICATED');
  });

  it('logout with no input reads the cookie, ends the session and clears the cookie', async () => {
    const { cookie, payload } = await registerWithCookie();
    const r = await op(t, LogoutDocument, {}, { cookie: cookieHeader(cookie) });
    expect(r.errors).toBeUndefined();
    expect(r.data.logout).toBe(true);
    const cleared = refreshCookie(r);
    expect(cleared).toBeDefined();
    expect(cleared!.value).toBe('');
    expect(cleared!.attrs.path).toBe('/graphql');
    const expired =
      Number(cleared!.attrs['max-age']) === 0 ||
      (typeof cleared!.attrs.expires === 'string' &&
        new Date(cleared!.attrs.expires).getTime() <= Date.now());
    expect(expired).toBe(true);
    expect((await op(t, MeDocument, {}, { token: payload.accessToken })).code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await op(t, RefreshTokenDocument, {}, { cookie: cookieHeader(cookie) })).code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('logout without any cookie or token still answers true (idempotent) and clears the cookie', async () => {
    const r = await op(t, LogoutDocument, {});
    expect(r.data.logout).toBe(true);
    const cleared = refreshCookie(r);
    expect(cleared?.value).toBe('');
    expect(cleared?.attrs.path).toBe('/graphql');
    expect(
      Number(cleared?.attrs['max-age']) === 0 ||
        new Date(String(cleared?.attrs.expires)).getTime() <= Date.now(),
    ).toBe(true);
  });

  it('CSRF prevention is on: a simple (non-JSON, no preflight header) request is refused', async () => {
    const { cookie } = await registerWithCookie();
    const body = JSON.stringify({ query: 'mutation { refreshToken { accessToken } }' });
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', cookie: cookieHeader(cookie) },
      body,
    });
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().join()).not.toContain('refresh_token=');
    const get = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { cookie: cookieHeader(cookie) },
    });
    expect(get.status).toBe(400);
    // The cookie still works: nothing was rotated by the refused requests.
    expect(
      (await op(t, RefreshTokenDocument, {}, { cookie: cookieHeader(cookie) })).errors,
    ).toBeUndefined();
  });
});
