/**
 * The React + Apollo example (examples/react-apollo) in a real browser
 * (Debian's Chromium driven by playwright-core) against the real built server
 * in cookie mode.
 *
 * Same origin, as a team would deploy it: `vite preview` serves the built
 * example and proxies /graphql to the API, so the HttpOnly refresh cookie is
 * first-party and no CORS is involved.
 *
 * Runs with `npm run test:browser` (vitest.browser.config.ts). In the default
 * `npx vitest run` it is skipped unless /usr/bin/chromium exists.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  codeOf as code,
  haveChromium,
  isOk as ok,
  OUT,
  since as sinceIn,
  startStack,
  type GqlCall,
  type Stack,
} from './support.js';

const SCREENSHOT = join(OUT, 'react-logged-in.png');
const ACCESS_TTL_S = 3;
/** Long enough for any access token issued before it to have expired (TTL + a second of exp rounding). */
const PAST_ACCESS_TTL_MS = (ACCESS_TTL_S + 1.5) * 1000;

let calls: GqlCall[] = [];
const since = (mark: number, op?: string, page?: Page) => sinceIn(calls, mark, op, page);

describe.skipIf(!haveChromium)('React Apollo example in Chromium (cookie mode)', () => {
  let stack: Stack;
  let context: BrowserContext;
  let page: Page;
  let tab2: Page;
  let base: string;
  const email = `ada.${Date.now()}@example.com`;
  const password = 'correct horse battery staple';

  const meEmail = (p: Page) => p.getByTestId('me-email');
  const signedIn = async (p: Page) => {
    await meEmail(p).waitFor({ state: 'visible', timeout: 20_000 });
    expect(await meEmail(p).textContent()).toBe(email);
    expect(await p.getByTestId('auth-forms').count()).toBe(0);
  };
  const signedOut = async (p: Page) => {
    await p.getByTestId('auth-forms').waitFor({ state: 'visible', timeout: 20_000 });
    expect(await meEmail(p).count()).toBe(0);
  };
  const settled = (mark: number, op: string, n: number, p?: Page) =>
    expect
      .poll(() => since(mark, op, p).filter((c) => c.body).length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(n);

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    stack = await startStack({ ACCESS_TOKEN_TTL: `${ACCESS_TTL_S}s` });
    ({ base, context, page, calls } = stack);
  }, 240_000);

  afterAll(() => stack?.close(), 30_000);

  it('starts signed out (no cookie yet), registers, and shows `me`', async () => {
    await page.goto(base + '/');
    await signedOut(page);
    // The boot tried the (absent) cookie once.
    expect(since(0, 'RefreshToken')).toHaveLength(1);

    await page.getByTestId('mode-register').click();
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill(password);
    await page.locator('input[name=name]').fill('Ada Lovelace');
    await page.getByTestId('auth-submit').click();
    await signedIn(page);
    expect(await page.getByTestId('me-name').textContent()).toBe('Ada Lovelace');
    await page.getByTestId('session-row').first().waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('session-row').count()).toBe(1);

    // The refresh token is only in the HttpOnly cookie; the page stores no token.
    const cookies = await context.cookies(base + '/graphql');
    const rt = cookies.find((c) => c.name === 'refresh_token');
    expect(rt).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/graphql' });
    expect(await page.evaluate(() => (globalThis as any).document.cookie as string)).not.toContain(
      'refresh_token',
    );
    const stored = await page.evaluate(() =>
      JSON.stringify({
        ...(globalThis as any).localStorage,
        ...(globalThis as any).sessionStorage,
      }),
    );
    expect(stored).toBe('{}');
    const register = since(0, 'Register')[0];
    expect(register.body?.data).toMatchObject({ register: { refreshToken: null } });

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot of the signed-in page: ${SCREENSHOT}`);
  });

  it('after the access token expires, two parallel queries make exactly one refresh and are retried', async () => {
    await sleep(PAST_ACCESS_TTL_MS);
    const mark = calls.length;
    await page.getByTestId('reload-data').click();
    await settled(mark, 'Me', 2);
    await settled(mark, 'Sessions', 2);
    await signedIn(page);

    const refreshes = since(mark, 'RefreshToken');
    expect(refreshes).toHaveLength(1);
    expect(ok(refreshes[0])).toBe(true);
    // Each query: one UNAUTHENTICATED answer with the expired token, then one retry that succeeds.
    for (const op of ['Me', 'Sessions']) {
      const c = since(mark, op);
      expect(c.map(code)).toEqual(['UNAUTHENTICATED', undefined]);
      expect(ok(c[1])).toBe(true);
      expect(calls.indexOf(c[1])).toBeGreaterThan(calls.indexOf(refreshes[0]));
    }
    expect((since(mark, 'Me')[1].body?.data as { me: { email: string } }).me.email).toBe(email);
  });

  it('three queries fired at once after expiry share a single refresh', async () => {
    await sleep(PAST_ACCESS_TTL_MS);
    const mark = calls.length;
    const emails = await page.evaluate(async () => {
      const { client, documents } = (globalThis as any).__AUTH_EXAMPLE__;
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          client.query({
            query: documents.MeDocument,
            fetchPolicy: 'network-only',
            // Three real requests, not one deduplicated.
            context: { queryDeduplication: false },
          }),
        ),
      );
      return results.map((r: any) => r.data.me.email);
    });
    expect(emails).toEqual([email, email, email]);
    await settled(mark, 'Me', 6);
    expect(since(mark, 'RefreshToken')).toHaveLength(1);
    const me = since(mark, 'Me');
    expect(me).toHaveLength(6);
    expect(me.filter((c) => code(c) === 'UNAUTHENTICATED')).toHaveLength(3);
    expect(me.filter(ok)).toHaveLength(3);
  });

  it('a reload stays signed in: the boot refresh uses the cookie', async () => {
    const mark = calls.length;
    await page.reload();
    await signedIn(page);
    const after = since(mark);
    expect(after[0].op).toBe('RefreshToken');
    expect(since(mark, 'RefreshToken')).toHaveLength(1);
    expect(ok(after[0])).toBe(true);
    expect(since(mark, 'Me').every((c) => c.bearer)).toBe(true);
  });

  it('a second tab shares the session; refreshing in both tabs logs neither out', async () => {
    const mark = calls.length;
    tab2 = await context.newPage();
    await tab2.goto(base + '/');
    await signedIn(tab2);
    expect(since(mark, 'RefreshToken', tab2)).toHaveLength(1); // its boot, with the shared cookie
    // One session, seen from both tabs.
    await tab2.getByTestId('session-row').first().waitFor({ timeout: 20_000 });
    expect(await tab2.getByTestId('session-row').count()).toBe(1);

    // Both access tokens expire; both tabs refresh at the same moment with the one cookie.
    await sleep(PAST_ACCESS_TTL_MS);
    const mark2 = calls.length;
    await Promise.all([
      page.getByTestId('reload-data').click(),
      tab2.getByTestId('reload-data').click(),
    ]);
    for (const p of [page, tab2]) {
      await settled(mark2, 'Me', 2, p);
      expect(since(mark2, 'RefreshToken', p)).toHaveLength(1);
      expect(ok(since(mark2, 'RefreshToken', p)[0])).toBe(true);
      expect(ok(since(mark2, 'Me', p).at(-1)!)).toBe(true);
    }
    await signedIn(page);
    await signedIn(tab2);
    // Still one session: the tabs rotated it in turn, never forked or revoked it.
    await page.getByTestId('reload-data').click();
    await expect.poll(() => page.getByTestId('session-row').count(), { timeout: 20_000 }).toBe(1);
  });

  it('logout signs out this tab and the other, and a reload stays signed out', async () => {
    const mark = calls.length;
    await page.getByTestId('logout').click();
    await signedOut(page);
    await settled(mark, 'Logout', 1);
    expect(since(mark, 'Logout')[0].body?.data).toEqual({ logout: true });
    // The cookie is gone, and the other tab heard of it.
    expect(
      (await context.cookies(base + '/graphql')).find((c) => c.name === 'refresh_token'),
    ).toBeUndefined();
    await signedOut(tab2);

    const mark2 = calls.length;
    await page.reload();
    await signedOut(page);
    expect(since(mark2, 'RefreshToken')).toHaveLength(1);
    expect(code(since(mark2, 'RefreshToken')[0])).toBe('UNAUTHENTICATED');
    expect(since(mark2, 'Me')).toHaveLength(0);
  });

  it('signs in again, changes the password (a wrong current password is not retried)', async () => {
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill(password);
    await page.getByTestId('auth-submit').click();
    await signedIn(page);

    const mark = calls.length;
    await page.locator('input[name=currentPassword]').fill('not the password');
    await page.locator('input[name=newPassword]').fill('a brand new passphrase');
    await page.getByTestId('change-password-submit').click();
    await page.getByTestId('change-password-message').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('change-password-message').getAttribute('class')).toBe('error');
    // Sent once, never retried (a retry would count a second failed login), and
    // no refresh after the refusal (one before it is allowed: the client
    // refreshes first when it knows its token has expired).
    const change = since(mark, 'ChangePassword');
    expect(change.map(code)).toEqual(['UNAUTHENTICATED']);
    const after = calls.indexOf(change[0]);
    expect(since(mark, 'RefreshToken').filter((c) => calls.indexOf(c) > after)).toHaveLength(0);
    await signedIn(page);

    await page.locator('input[name=currentPassword]').fill(password);
    await page.locator('input[name=newPassword]').fill('a brand new passphrase');
    await page.getByTestId('change-password-submit').click();
    await expect
      .poll(() => page.getByTestId('change-password-message').getAttribute('class'), {
        timeout: 20_000,
      })
      .toBe('ok');
    await signedIn(page);
  });

  it('when the refresh is refused, the store is cleared and the login form shows', async () => {
    await signedIn(page);
    const cached = () =>
      page.evaluate(() =>
        JSON.stringify((globalThis as any).__AUTH_EXAMPLE__.client.cache.extract()),
      );
    expect(await cached()).toContain(email);
    // The session's cookie disappears (as if it expired), then the access token does.
    await context.clearCookies();
    await sleep(PAST_ACCESS_TTL_MS);
    const mark = calls.length;
    await page.getByTestId('reload-data').click();
    await signedOut(page);
    expect(await page.getByTestId('auth-notice').textContent()).toMatch(/session has ended/i);
    const refreshes = since(mark, 'RefreshToken');
    expect(refreshes).toHaveLength(1);
    await settled(mark, 'RefreshToken', 1);
    expect(code(refreshes[0])).toBe('UNAUTHENTICATED');
    // Nothing of the user is left in Apollo's cache, and no query was retried.
    await expect.poll(cached, { timeout: 10_000 }).not.toContain(email);
    expect(since(mark, 'Me')).toHaveLength(1);
  });
});
