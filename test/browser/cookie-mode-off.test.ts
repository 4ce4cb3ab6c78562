/**
 * The React example against an API that is NOT in cookie mode: registering
 * works, but the refresh token comes back in the response body, which the
 * example does not keep, so a reload signs the user out. The page says so
 * at once (not only after the reload), and after the reload it says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, since, startStack, type Stack } from './support.js';

describe.skipIf(!haveChromium)('React example against an API not in cookie mode', () => {
  let s: Stack;
  const email = `no-cookie.${Date.now()}@example.com`;

  beforeAll(async () => {
    s = await startStack({ AUTH_REFRESH_COOKIE: 'false' });
  }, 240_000);
  afterAll(() => s?.close(), 30_000);

  it('registers, and warns right away that a reload will sign out', async () => {
    const { page } = s;
    await page.goto(s.base + '/');
    await page.getByTestId('auth-forms').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('cookie-mode-warning').count()).toBe(0);

    await page.getByTestId('mode-register').click();
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill('correct horse battery staple');
    await page.getByTestId('auth-submit').click();
    await page.getByTestId('me-email').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('me-email').textContent()).toBe(email);

    // The server did send the refresh token in the body: that is what is detected.
    const register = since(s.calls, 0, 'Register')[0];
    expect(register.body?.data).toMatchObject({
      register: { refreshToken: expect.any(String) },
    });
    const warning = page.getByTestId('cookie-mode-warning');
    await warning.waitFor({ timeout: 10_000 });
    expect(await warning.textContent()).toMatch(/not in cookie mode/);
    expect(await warning.textContent()).toContain('AUTH_REFRESH_COOKIE=true');
    // No cookie was set, and the page keeps no token.
    expect((await s.context.cookies(s.base + '/graphql')).map((c) => c.name)).not.toContain(
      'refresh_token',
    );
  });

  it('after a reload: signed out, and the notice says why', async () => {
    const { page } = s;
    await page.reload();
    await page.getByTestId('auth-forms').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('me-email').count()).toBe(0);
    expect(await page.getByTestId('auth-notice').textContent()).toMatch(
      /reload signed you out: the API is not in cookie mode/,
    );
    expect(await page.getByTestId('cookie-mode-warning').count()).toBe(1);
  });
});
