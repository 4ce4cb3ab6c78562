/**
 * Email verification and password reset in the React example, in Chromium,
 * against the built server and a real SMTP server (smtp-server, started here)
 * that receives the mails: the links are taken from the mails as a person
 * would, and opened in the page.
 *
 * Runs with `npm run test:browser` (vitest.browser.config.ts).
 */
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type ReceivedMail, type TestSmtp } from '../support/smtp.js';
import { CHROMIUM, haveChromium, OUT, startStack, type Stack } from './support.js';

/** The mail worker polls and retries every ~100 ms (test/support/mail.ts FAST_MAIL). */
const FAST_MAIL = {
  MAIL_POLL_INTERVAL: '100ms',
  MAIL_RETRY_DELAY: '100ms',
  MAIL_RETRY_MAX_DELAY: '300ms',
};

/** The whole link of a mail's plain-text part (`{APP_URL}/<page>?token=…`). */
function linkOf(mail: ReceivedMail, page: 'verify-email' | 'reset-password'): string {
  const m = new RegExp(`https?://\\S+/${page}\\?token=[A-Za-z0-9_-]{43}`).exec(mail.text);
  if (!m) throw new Error(`no ${page} link in:\n${mail.text}`);
  return m[0];
}

describe.skipIf(!haveChromium)('verification and reset mails in the React example', () => {
  let smtp: TestSmtp;
  let stack: Stack;
  let other: Browser;
  let tab1: Page;
  const email = `grace.${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  const newPassword = 'a whole new passphrase';

  const signedIn = (p: Page) =>
    p.getByTestId('me-email').waitFor({ state: 'visible', timeout: 20_000 });
  const signedOut = (p: Page) =>
    p.getByTestId('auth-forms').waitFor({ state: 'visible', timeout: 20_000 });

  beforeAll(async () => {
    smtp = await startSmtp();
    stack = await startStack({ SMTP_URL: smtp.url, ...FAST_MAIL });
    tab1 = stack.page;
    other = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await other?.close().catch(() => undefined);
    await stack?.close();
    await smtp?.stop();
  });

  it('register: a banner asks to verify; the link from the mail verifies the address and the banner goes, in the other tab too', async () => {
    await tab1.goto(stack.base);
    await signedOut(tab1);
    await tab1.getByTestId('mode-register').click();
    await tab1.locator('input[name=email]').fill(email);
    await tab1.locator('input[name=password]').fill(password);
    await tab1.getByTestId('auth-submit').click();
    await signedIn(tab1);
    const banner = tab1.getByTestId('verify-banner');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toContain(email);

    // "Resend" answers (within the minute after register no second mail goes out).
    await tab1.getByTestId('verify-resend').click();
    await tab1.getByTestId('verify-banner-message').waitFor({ state: 'visible' });

    const mail = await smtp.waitFor(
      (m) => m.to.includes(email) && m.text.includes('/verify-email?token='),
    );
    const link = linkOf(mail, 'verify-email');
    expect(link.startsWith(`${stack.base}/verify-email?token=`)).toBe(true);
    await tab1.screenshot({ path: join(OUT, 'react-verify-banner.png') });

    // The link, opened in a second tab: nothing happens until the button.
    const tab2 = await stack.context.newPage();
    await tab2.goto(link);
    await tab2.getByTestId('verify-email-confirm').waitFor({ state: 'visible' });
    await tab2.getByTestId('verify-email-confirm').click();
    await tab2.getByTestId('verify-email-done').waitFor({ state: 'visible' });

    // The first tab's banner goes (it reloads `me` when told).
    await banner.waitFor({ state: 'detached', timeout: 20_000 });

    // The link is spent: opening it again says so.
    await tab2.goto(link);
    await tab2.getByTestId('verify-email-confirm').click();
    await tab2.getByTestId('verify-email-invalid').waitFor({ state: 'visible' });

    // Continue to the app: signed in (the cookie), no banner.
    await tab2.getByTestId('to-app').click();
    await signedIn(tab2);
    expect(await tab2.getByTestId('verify-banner').count()).toBe(0);
    await tab2.close();
  });

  it('forgot password: the mail, its link, a new password, sign in with it; the other browser session is gone', async () => {
    await signedIn(tab1);
    // Another device: a browser of its own, signed out.
    const ctx = await other.newContext({ viewport: { width: 1100, height: 900 } });
    try {
      const p = await ctx.newPage();
      await p.goto(stack.base);
      await signedOut(p);
      await p.getByTestId('forgot-password').click();
      await p.locator('input[name=resetEmail]').fill(email);
      await p.getByTestId('forgot-password-submit').click();
      await p.getByTestId('forgot-password-sent').waitFor({ state: 'visible' });

      const mail = await smtp.waitFor(
        (m) => m.to.includes(email) && m.text.includes('/reset-password?token='),
      );
      await p.goto(linkOf(mail, 'reset-password'));
      // A weak password is refused and leaves the link usable.
      await p.locator('input[name=newPassword]').fill('short1');
      await p.locator('input[name=newPasswordAgain]').fill('short1');
      await p.locator('input[name=newPassword]').evaluate((i) => i.removeAttribute('minlength'));
      await p
        .locator('input[name=newPasswordAgain]')
        .evaluate((i) => i.removeAttribute('minlength'));
      await p.getByTestId('reset-password-submit').click();
      await p.getByTestId('reset-password-error').waitFor({ state: 'visible' });

      await p.locator('input[name=newPassword]').fill(newPassword);
      await p.locator('input[name=newPasswordAgain]').fill(newPassword);
      await p.getByTestId('reset-password-submit').click();
      await p.getByTestId('reset-password-done').waitFor({ state: 'visible' });

      // Sign in with the new password.
      await p.getByTestId('to-app').click();
      await signedOut(p);
      await p.locator('input[name=email]').fill(email);
      await p.locator('input[name=password]').fill(newPassword);
      await p.getByTestId('auth-submit').click();
      await signedIn(p);
      expect(await p.getByTestId('me-email').textContent()).toBe(email);
    } finally {
      await ctx.close();
    }

    // The first browser's session was revoked by the reset: its next call ends it.
    await tab1.getByTestId('reload-data').click();
    await signedOut(tab1);
    expect(await tab1.getByTestId('auth-notice').textContent()).toContain('session has ended');
    // And the old password no longer signs in.
    await tab1.locator('input[name=email]').fill(email);
    await tab1.locator('input[name=password]').fill(password);
    await tab1.getByTestId('auth-submit').click();
    await tab1.getByTestId('auth-error').waitFor({ state: 'visible' });
  });

  it('forgot password for an address without an account: the same answer, and no mail', async () => {
    const nobody = `nobody.${Date.now()}@example.com`;
    const known = `known.${Date.now()}@example.com`;
    const r = await fetch(`${stack.apiUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `mutation($i: RegisterInput!) { register(input: $i) { user { id } } }`,
        variables: { i: { email: known, password } },
      }),
    });
    expect(((await r.json()) as { errors?: unknown }).errors).toBeUndefined();
    const p = await stack.context.newPage();
    try {
      await p.goto(stack.base);
      await signedOut(p);
      await p.getByTestId('forgot-password').click();
      const answers: string[] = [];
      for (const address of [nobody, known]) {
        await p.locator('input[name=resetEmail]').fill(address);
        await p.getByTestId('forgot-password-submit').click();
        await expect
          .poll(() => p.getByTestId('forgot-password-sent').textContent())
          .toContain(address);
        answers.push((await p.getByTestId('forgot-password-sent').textContent())!);
      }
      expect(answers[0].replace(nobody, 'X')).toBe(answers[1].replace(known, 'X'));
    } finally {
      await p.close();
    }
    // The known address's mail, asked for after the unknown one's, has arrived: none went to nobody.
    await smtp.waitFor((m) => m.to.includes(known) && m.text.includes('/reset-password?token='));
    expect(smtp.to(nobody)).toHaveLength(0);
  });
});
