/**
 * Two-step sign-in (TOTP) in the React example (examples/react-apollo/src/mfa)
 * in Chromium against the real built server in cookie mode: turning it on
 * from the QR code / the key shown on the page, the recovery codes shown once
 * (copy, download), the login's second step with a code from the app and with
 * a recovery code, a used recovery code refused, new recovery codes, and
 * turning it off.
 *
 * Codes come from otplib, computed from what the page shows (the key, and
 * the QR code decoded with jsQR), the way a phone would. The server accepts a
 * code once and ±1 step of 30 s: the test never sends one code twice where it
 * expects a success; a second code is the NEXT step's (otplib's `epoch`),
 * which the server accepts without waiting for the clock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsqrModule from 'jsqr';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, haveChromium, OUT, since, startStack, type Stack } from './support.js';

/** jsQR is CommonJS: its function is the module itself or its `default`, depending on the loader. */
type JsQR = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsqrLoaded = jsqrModule as unknown as JsQR | { default: JsQR };
const jsQR: JsQR = typeof jsqrLoaded === 'function' ? jsqrLoaded : jsqrLoaded.default;

/** The enrolment screen (QR code, key, code field); docs/img/mfa-enrol.png is a copy of one. */
const ENROL_SCREENSHOT = join(OUT, 'mfa-enrol.png');
/** The recovery codes as shown once after confirming. */
const CODES_SCREENSHOT = join(OUT, 'mfa-recovery-codes.png');

describe.skipIf(!haveChromium)('React example: two-step sign-in (TOTP)', () => {
  let stack: Stack;
  let page: Page;
  const email = `mfa.${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  /** The key as the page shows it, without the spaces that group it. */
  let secret = '';
  let recovery: string[] = [];

  /** The TOTP code `steps` periods of 30 s from now, as an app with this key shows it. */
  const totp = (steps = 0) =>
    generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * steps });
  /** A 6-digit code the server cannot accept now: none of the codes of the steps around now. */
  const wrongCode = async () => {
    const near = new Set(await Promise.all([-2, -1, 0, 1, 2, 3].map((s) => totp(s))));
    for (let i = 0; ; i++) {
      const c = String(100000 + i * 7919).slice(-6);
      if (!near.has(c)) return c;
    }
  };

  const text = async (testId: string) => (await page.getByTestId(testId).textContent()) ?? '';
  const visible = (testId: string) =>
    page.getByTestId(testId).waitFor({ state: 'visible', timeout: 20_000 });
  const signedIn = async () => {
    await visible('me-email');
    expect(await text('me-email')).toBe(email);
    expect(await page.getByTestId('auth-forms').count()).toBe(0);
  };
  const logOut = async () => {
    await page.getByTestId('logout').click();
    await visible('login-form');
    expect(await page.getByTestId('me-email').count()).toBe(0);
  };
  /** Email and password on the login form; an account with two-step sign-in gets the second step. */
  const password1 = async () => {
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill(password);
    await page.getByTestId('auth-submit').click();
  };
  const secondStep = async () => {
    await password1();
    await visible('mfa-step');
    // No session yet: the password form is gone and nothing of the account shows.
    expect(await page.getByTestId('me-email').count()).toBe(0);
    expect(await page.getByTestId('login-form').count()).toBe(0);
  };
  const typeCode = async (code: string) => {
    await page.locator('input[name=mfaCode]').fill(code);
    await page.getByTestId('mfa-submit').click();
  };
  const refusedOnStep = async () => {
    await expect.poll(() => text('mfa-error'), { timeout: 20_000 }).toContain('not accepted');
    expect(await page.getByTestId('mfa-step').count()).toBe(1);
    expect(await page.getByTestId('me-email').count()).toBe(0);
  };
  const status = () => page.getByTestId('two-factor-status').getAttribute('data-enabled');

  beforeAll(async () => {
    // The test makes more wrong codes than the default lock allows (10 per account);
    // the lock is not what it tests.
    stack = await startStack({ AUTH_LOGIN_MAX_FAILURES: '1000' });
    page = stack.page;
    await stack.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: stack.base,
    });
  }, 240_000);
  afterAll(() => stack?.close(), 30_000);

  it('turns two-step sign-in on: a QR code of the otpauth URI, the key, a code; 10 recovery codes shown once', async () => {
    await page.goto(stack.base + '/');
    await page.getByTestId('mode-register').click();
    await page.locator('input[name=email]').fill(email);
    await page.locator('input[name=password]').fill(password);
    await page.getByTestId('auth-submit').click();
    await signedIn();
    await expect.poll(status, { timeout: 20_000 }).toBe('false');
    expect(await text('two-factor-status')).toContain('Off');

    // Another client signs in too: the sessions list shows two.
    const other = await fetch(`${stack.apiUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        variables: { input: { email, password } },
      }),
    });
    expect(((await other.json()) as { errors?: unknown }).errors).toBeUndefined();
    await page.getByTestId('reload-data').click();
    await expect.poll(() => page.getByTestId('session-row').count(), { timeout: 20_000 }).toBe(2);

    const mark = stack.calls.length;
    await page.getByTestId('mfa-enable').click();
    await visible('mfa-enrolment');
    secret = (await text('mfa-secret')).replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    // Shown in groups of four for typing by hand.
    expect(await text('mfa-secret')).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);

    // The QR code, read the way a phone reads it: the pixels of the rendered SVG.
    // (This function runs in the page: DOM types are not in this project's lib.)
    const qr = await page.getByTestId('mfa-qr').evaluate(async (el: any) => {
      const w = globalThis as any;
      const img = new w.Image();
      img.src =
        'data:image/svg+xml;base64,' +
        w.btoa(new w.XMLSerializer().serializeToString(el.querySelector('svg')));
      await img.decode();
      const canvas = w.document.createElement('canvas');
      canvas.width = canvas.height = 400;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0, 400, 400);
      return Array.from(ctx.getImageData(0, 0, 400, 400).data as ArrayLike<number>);
    });
    const decoded = jsQR(Uint8ClampedArray.from(qr), 400, 400);
    expect(decoded, 'the QR code on the page is readable').not.toBeNull();
    const uri = new URL(decoded!.data);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(uri.searchParams.get('secret')).toBe(secret);
    // Exactly the URI the API sent.
    const enrolled = since(stack.calls, mark, 'EnrollTotp')[0];
    await expect.poll(() => !!enrolled.body, { timeout: 20_000 }).toBe(true);
    expect(decoded!.data).toBe(
      (enrolled.body!.data!.enrollTotp as { otpauthUri: string }).otpauthUri,
    );

    await page.getByTestId('two-factor').screenshot({ path: ENROL_SCREENSHOT });
    console.log(`screenshot of the enrolment screen: ${ENROL_SCREENSHOT}`);

    // A wrong code: told so, still enrolling, still off.
    await page.locator('input[name=totpCode]').fill(await wrongCode());
    await page.getByTestId('mfa-confirm').click();
    await expect
      .poll(() => text('mfa-confirm-error'), { timeout: 20_000 })
      .toContain('not the current code');
    expect(await page.getByTestId('mfa-enrolment').count()).toBe(1);

    // The current code (typed with a space, as people copy it from the app).
    const now = await totp(0);
    await page.locator('input[name=totpCode]').fill(`${now.slice(0, 3)} ${now.slice(3)}`);
    await page.getByTestId('mfa-confirm').click();
    await visible('recovery-codes');
    expect(await text('two-factor-done')).toContain('Two-step sign-in is on');
    // Confirming ended the other session; the list, reloaded, shows this browser's alone.
    await expect.poll(() => page.getByTestId('session-row').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('session-row').getAttribute('data-current')).toBe('true');
    recovery = await page.getByTestId('recovery-code').allTextContents();
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    expect(await page.getByTestId('mfa-enrolment').count()).toBe(0);
    await page.getByTestId('two-factor').screenshot({ path: CODES_SCREENSHOT });

    // Copy: the clipboard holds the ten codes.
    await page.getByTestId('recovery-codes-copy').click();
    await expect.poll(() => text('recovery-codes-copied')).toContain('Copied');
    const clip = await page.evaluate(
      () => (globalThis as any).navigator.clipboard.readText() as Promise<string>,
    );
    expect(clip.split('\n')).toEqual(recovery);

    // Download: a .txt file with the ten codes.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('recovery-codes-download').click(),
    ]);
    expect(download.suggestedFilename()).toBe('recovery-codes.txt');
    const file = readFileSync((await download.path())!, 'utf8');
    for (const c of recovery) expect(file).toContain(c);

    // "I have saved them": gone, and never shown again (not after a reload either).
    await page.getByTestId('recovery-codes-done').click();
    await expect.poll(status, { timeout: 20_000 }).toBe('true');
    expect(await text('two-factor-status')).toContain('On');
    expect(await page.getByTestId('recovery-code').count()).toBe(0);
    await page.reload();
    await signedIn();
    await expect.poll(status, { timeout: 20_000 }).toBe('true');
    expect(await page.getByTestId('recovery-code').count()).toBe(0);
    expect(await page.getByTestId('mfa-enable').count()).toBe(0);
  });

  it('signs in with the password, then a code from the app; that code does not work a second time', async () => {
    await logOut();
    const mark = stack.calls.length;
    await secondStep();
    expect(codeOf(since(stack.calls, mark, 'Login')[0])).toBe('MFA_REQUIRED');
    // The password alone gave this browser no session cookie.
    const before = await stack.context.cookies(stack.base + '/graphql');
    expect(before.find((c) => c.name === 'refresh_token')).toBeUndefined();

    const sent = stack.calls.length;
    await typeCode(await wrongCode());
    await refusedOnStep();
    // A refused code is final: sent once, no refresh and no retry (the link knows VerifyMfa).
    expect(since(stack.calls, sent, 'VerifyMfa')).toHaveLength(1);
    expect(since(stack.calls, sent, 'RefreshToken')).toHaveLength(0);

    // The next step's code (the one used to confirm may not be used again).
    const next = await totp(1);
    const verified = stack.calls.length;
    await typeCode(next);
    await signedIn();
    await expect.poll(status, { timeout: 20_000 }).toBe('true');
    // Delivered like login in cookie mode: the refresh token is the HttpOnly cookie, not in the
    // payload, and a reload stays signed in through it.
    const payload = since(stack.calls, verified, 'VerifyMfa')[0].body?.data?.verifyMfa as {
      refreshToken: string | null;
    };
    expect(payload.refreshToken).toBeNull();
    const cookies = await stack.context.cookies(stack.base + '/graphql');
    expect(cookies.find((c) => c.name === 'refresh_token')).toMatchObject({ httpOnly: true });
    await page.reload();
    await signedIn();

    // Same code, new sign-in: refused (a code is accepted once).
    await logOut();
    await secondStep();
    await typeCode(next);
    await refusedOnStep();
    await page.getByTestId('mfa-cancel').click();
    await visible('login-form');
  });

  it('signs in with a recovery code, which is refused on a later sign-in', async () => {
    await secondStep();
    await page.getByTestId('mfa-toggle-recovery').click();
    await expect
      .poll(() => page.getByTestId('mfa-step').textContent())
      .toContain('Type one of your recovery codes');
    await typeCode(recovery[0]);
    await signedIn();

    await logOut();
    await secondStep();
    await page.getByTestId('mfa-toggle-recovery').click();
    await typeCode(recovery[0]);
    await refusedOnStep();
    // Another, unused one still works.
    await typeCode(recovery[1]);
    await signedIn();
  });

  it('after 5 refused codes the second step sends the user back to the password', async () => {
    await logOut();
    await secondStep();
    for (let i = 0; i < 4; i++) {
      await typeCode(await wrongCode());
      await refusedOnStep();
    }
    await typeCode(await wrongCode());
    await visible('login-form');
    expect(await text('auth-notice')).toContain('Too many wrong codes');
    expect(await page.getByTestId('mfa-step').count()).toBe(0);
    // The password again leads to a new second step, where a good code works.
    await secondStep();
    await page.getByTestId('mfa-toggle-recovery').click();
    await typeCode(recovery[2]);
    await signedIn();
  });

  it('makes new recovery codes (the old ones die) and turns two-step sign-in off, each with a code', async () => {
    await visible('mfa-manage');
    // A wrong code changes nothing.
    const sent = stack.calls.length;
    await page.locator('input[name=manageCode]').fill(await wrongCode());
    await page.getByTestId('mfa-regenerate').click();
    await expect
      .poll(() => text('mfa-manage-error'), { timeout: 20_000 })
      .toContain('not accepted');
    // Sent once: its UNAUTHENTICATED (a wrong code) is not taken for an expired token and retried.
    expect(since(stack.calls, sent, 'RegenerateRecoveryCodes')).toHaveLength(1);
    expect(since(stack.calls, sent, 'RefreshToken')).toHaveLength(0);

    await page.locator('input[name=manageCode]').fill(recovery[3]);
    await page.getByTestId('mfa-regenerate').click();
    await visible('recovery-codes');
    expect(await text('two-factor-done')).toContain('old ones no longer work');
    const fresh = await page.getByTestId('recovery-code').allTextContents();
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((c) => recovery.includes(c))).toEqual([]);
    await page.getByTestId('recovery-codes-done').click();
    expect(await page.getByTestId('recovery-code').count()).toBe(0);

    // An old, never used code no longer works...
    await page.locator('input[name=manageCode]').fill(recovery[4]);
    await page.getByTestId('mfa-disable').click();
    await expect
      .poll(() => text('mfa-manage-error'), { timeout: 20_000 })
      .toContain('not accepted');
    expect(await status()).toBe('true');
    // ...a new one does.
    await page.locator('input[name=manageCode]').fill(fresh[0]);
    await page.getByTestId('mfa-disable').click();
    await expect.poll(() => text('two-factor-message'), { timeout: 20_000 }).toContain('off');
    await expect.poll(status, { timeout: 20_000 }).toBe('false');
    expect(await page.getByTestId('mfa-enable').count()).toBe(1);

    // The password alone signs in again.
    await logOut();
    await password1();
    await signedIn();
    expect(await page.getByTestId('mfa-step').count()).toBe(0);
  });
});
