/**
 * The React example's security log (examples/react-apollo/src/SecurityLog.tsx)
 * in Chromium against the real built server: the signed-in user's own events,
 * newest first, a page of 10 at a time.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, OUT, startStack, type Stack } from './support.js';

const SCREENSHOT = join(OUT, 'react-security-log.png');

describe.skipIf(!haveChromium)('React example: the security log', () => {
  let stack: Stack;
  let page: Page;
  const email = `grace.${Date.now()}@example.com`;
  const password = 'correct horse battery staple';

  /** A GraphQL call straight to the API, as someone else's script would make it. */
  const api = async (query: string, variables: Record<string, unknown>) => {
    const r = await fetch(`${stack.apiUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'guessing-script/1.0' },
      body: JSON.stringify({ query, variables }),
    });
    return (await r.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  };
  const rows = () => page.getByTestId('security-event');
  const rowInfo = () =>
    rows().evaluateAll((trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-id')!,
        type: tr.getAttribute('data-type')!,
        text: tr.textContent ?? '',
      })),
    );

  beforeAll(async () => {
    // Wrong passwords are what this test makes; the lock is not what it tests.
    stack = await startStack({ AUTH_LOGIN_MAX_FAILURES: '1000' });
    page = stack.page;
  }, 240_000);
  afterAll(() => stack?.close(), 30_000);

  it('shows the new account, then wrong passwords tried from elsewhere, newest first; Older pages back to the start', async () => {
    await page.goto(stack.base + '/');
    await page.getByTestId('mode-register').click();
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill(password);
    await page.getByTestId('auth-submit').click();
    await page.getByTestId('me-email').waitFor({ timeout: 20_000 });

    // The log shows the registration.
    await expect
      .poll(async () => (await rowInfo()).map((r) => r.type), { timeout: 20_000 })
      .toEqual(['REGISTER']);

    // Twelve wrong passwords from a script elsewhere, and another account's own events.
    for (let i = 0; i < 12; i++) {
      const r = await api(
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: { email, password: `wrong guess ${i}` } },
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    await api('mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { email: `someone.else.${Date.now()}@example.com`, password },
    });

    await page.getByTestId('security-log-refresh').click();
    await expect.poll(async () => (await rowInfo()).length, { timeout: 20_000 }).toBe(10);
    const first = await rowInfo();
    expect(first.every((r) => r.type === 'LOGIN_FAILED')).toBe(true);
    expect(first[0].text).toContain('Wrong password');
    expect(first[0].text).toContain('guessing-script/1.0');
    expect(first[0].text).toContain('127.0.0.1');

    await page.getByTestId('security-log-more').click();
    await expect.poll(async () => (await rowInfo()).length, { timeout: 20_000 }).toBe(13);
    const all = await rowInfo();
    // The two other wrong passwords, then the registration: the oldest last.
    expect(all.map((r) => r.type)).toEqual([...Array(12).fill('LOGIN_FAILED'), 'REGISTER']);
    const ids = all.map((r) => r.id);
    expect(new Set(ids).size).toBe(13);
    expect([...ids].sort().reverse()).toEqual(ids);
    // Nothing older: the button is gone.
    await expect.poll(() => page.getByTestId('security-log-more').count()).toBe(0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot of the security log: ${SCREENSHOT}`);
  });

  it('a password change made on the page is on top after Refresh', async () => {
    await page.locator('input[name=currentPassword]').fill(password);
    await page.locator('input[name=newPassword]').fill('a brand new passphrase');
    await page.getByTestId('change-password-submit').click();
    await expect
      .poll(() => page.getByTestId('change-password-message').getAttribute('class'), {
        timeout: 20_000,
      })
      .toBe('ok');
    await page.getByTestId('security-log-refresh').click();
    await expect
      .poll(async () => (await rowInfo())[0]?.type, { timeout: 20_000 })
      .toBe('PASSWORD_CHANGED');
    // Refresh starts again from the newest page.
    expect((await rowInfo()).length).toBe(10);
    expect((await rowInfo())[0].text).toContain('Password changed');
  });
});
