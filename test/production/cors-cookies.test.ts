import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { email, LOGOUT, REGISTER } from './support.js';

const STUDIO = 'https://studio.apollographql.com';
const PASSWORD = 'correct horse battery';

async function preflight(t: TestApp, origin: string) {
  return fetch(`${t.url}/graphql`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,authorization',
    },
  });
}

async function simplePost(t: TestApp, origin: string) {
  return fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
}

describe('CORS from an allow-list', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
    });
  });
  afterAll(() => t?.close());

  it('an allowed origin is echoed with credentials and Vary: Origin', async () => {
    for (const origin of ['https://app.example.com', 'http://localhost:5173']) {
      const res = await preflight(t, origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
      expect(res.headers.get('vary')).toMatch(/origin/i);
      const post = await simplePost(t, origin);
      expect(post.headers.get('access-control-allow-origin')).toBe(origin);
      expect(post.headers.get('vary')).toMatch(/origin/i);
    }
  });

  it('another origin is never reflected, and `*` is never sent', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null']) {
      const pre = await preflight(t, origin);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      const post = await simplePost(t, origin);
      expect(post.headers.get('access-control-allow-origin')).toBeNull();
      expect(post.headers.get('vary')).toMatch(/origin/i);
    }
  });

  it('in production Apollo Studio is not allowed unless listed', async () => {
    const res = await preflight(t, STUDIO);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS in production without CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'production' });
  });
  afterAll(() => t?.close());

  it('no browser origin is allowed: no CORS header at all, and same-origin calls still work', async () => {
    for (const origin of [STUDIO, 'https://app.example.com', 'null']) {
      const pre = await preflight(t, origin);
      // No CORS handler answers it (no access-control header): a plain 400.
      expect(pre.status).toBe(400);
      const post = await simplePost(t, origin);
      for (const res of [pre, post]) {
        const cors = [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));
        expect(cors, origin).toEqual([]);
      }
      expect(await post.json()).toEqual({ data: { __typename: 'Query' } });
    }
  });
});

describe('CORS outside production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'development' });
  });
  afterAll(() => t?.close());

  it('Apollo Studio is allowed by default, with credentials', async () => {
    const res = await preflight(t, STUDIO);
    expect(res.headers.get('access-control-allow-origin')).toBe(STUDIO);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight(t, 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS_ORIGINS is validated', () => {
  it('refuses `*` and anything that is not an exact origin', async () => {
    for (const bad of ['*', 'https://app.example.com/path', 'app.example.com']) {
      await expect(startTestApp({ CORS_ORIGINS: bad })).rejects.toThrow(/CORS_ORIGINS/);
    }
  });
});

describe('refresh cookie attributes (cookie mode, production)', () => {
  let t: TestApp;
  const ttlSeconds = 3600;
  beforeAll(async () => {
    t = await startTestApp({
      NODE_ENV: 'production',
      AUTH_REFRESH_COOKIE: 'true',
      REFRESH_TOKEN_TTL: `${ttlSeconds}s`,
    });
  });
  afterAll(() => t?.close());

  function attrs(setCookie: string) {
    const [pair, ...rest] = setCookie.split(';').map((s) => s.trim());
    const map = new Map(
      rest.map((a) => {
        const i = a.indexOf('=');
        return i === -1 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      }),
    );
    const eq = pair.indexOf('=');
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), map };
  }

  /** The Set-Cookie header of the cookie with this name (exactly one). */
  function cookieNamed(setCookie: string[], name: string) {
    const found = setCookie.map(attrs).filter((c) => c.name === name);
    expect(found).toHaveLength(1);
    return found[0];
  }

  it('login sets HttpOnly, SameSite, Secure, Path=/graphql, Max-Age within the session', async () => {
    const r = await t.gql(REGISTER, { i: { email: email('cookie'), password: PASSWORD } });
    expect(r.errors).toBeUndefined();
    expect(r.data.register.refreshToken).toBeNull();
    // the refresh token, and the device token (src/devices), both as cookies
    expect(r.setCookie.map((h: string) => attrs(h).name).sort()).toEqual([
      'device_token',
      'refresh_token',
    ]);
    const device = cookieNamed(r.setCookie, 'device_token');
    expect(device.map.has('httponly')).toBe(true);
    expect(device.map.has('secure')).toBe(true);
    expect(device.map.get('samesite')?.toLowerCase()).toBe('strict');
    expect(device.map.get('path')).toBe('/graphql');
    const c = cookieNamed(r.setCookie, 'refresh_token');
    expect(c.name).toBe('refresh_token');
    expect(c.name.startsWith('__Host-')).toBe(false);
    expect(c.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.map.has('httponly')).toBe(true);
    expect(c.map.has('secure')).toBe(true);
    expect(c.map.get('samesite')?.toLowerCase()).toBe('strict');
    expect(c.map.get('path')).toBe('/graphql');
    expect(c.map.has('domain')).toBe(false);
    const maxAge = Number(c.map.get('max-age'));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(ttlSeconds);
  });

  it('logout clears the cookie with the same attributes', async () => {
    const r = await t.gql(REGISTER, { i: { email: email('cookie-out'), password: PASSWORD } });
    const refresh = cookieNamed(r.setCookie, 'refresh_token');
    const cookie = `${refresh.name}=${refresh.value}`;
    const out = await t.gql(LOGOUT, {}, { cookie });
    expect(out.data.logout).toBe(true);
    expect(out.setCookie).toHaveLength(1);
    const c = attrs(out.setCookie[0]);
    expect(c.name).toBe('refresh_token');
    expect(c.value).toBe('');
    expect(c.map.has('httponly')).toBe(true);
    expect(c.map.has('secure')).toBe(true);
    expect(c.map.get('samesite')?.toLowerCase()).toBe('strict');
    expect(c.map.get('path')).toBe('/graphql');
    const expired =
      c.map.get('max-age') === '0' || new Date(c.map.get('expires') ?? '').getTime() <= Date.now();
    expect(expired).toBe(true);
    // The cleared token no longer refreshes.
    const again = await t.gql(`mutation { refreshToken { accessToken } }`, {}, { cookie });
    expect(again.code).toBe('UNAUTHENTICATED');
  });
});

describe('refresh cookie outside production', () => {
  it('is not Secure (plain http://localhost works) but still HttpOnly, SameSite and scoped', async () => {
    const t = await startTestApp({ NODE_ENV: 'development', AUTH_REFRESH_COOKIE: 'true' });
    try {
      const r = await t.gql(REGISTER, { i: { email: email('dev-cookie'), password: PASSWORD } });
      const sc = (r.setCookie as string[]).find((h) => h.startsWith('refresh_token=')) ?? '';
      expect(sc).not.toBe('');
      expect(sc.toLowerCase()).toContain('httponly');
      expect(sc.toLowerCase()).toContain('samesite=strict');
      expect(sc.toLowerCase()).toContain('path=/graphql');
      expect(sc.toLowerCase()).not.toContain('secure');
    } finally {
      await t.close();
    }
  });
});
