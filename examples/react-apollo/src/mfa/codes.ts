/**
 * Small helpers shared by the login's second step and the two-step settings:
 * what the user typed, as the API wants it, and what an error means to them.
 */
import { problemOf } from '../account/links';

/** An mfaToken (the second step of a login) dies after this many wrong codes (and after 5 minutes). */
export const MFA_TOKEN_TRIES = 5;

/**
 * A TOTP code as typed ("123 456", " 123456 ") becomes its 6 digits; anything
 * else (a recovery code) is sent as typed, without surrounding blanks: the
 * server knows the shape of its recovery codes, this page does not guess.
 */
export function normaliseCode(input: string): string {
  const digits = input.replace(/\s+/g, '');
  return /^\d{6}$/.test(digits) ? digits : input.trim();
}

/** The `extensions.mfaToken` of a login that failed with MFA_REQUIRED, else null. */
export function mfaTokenOf(e: unknown): string | null {
  const first = (e as { errors?: { extensions?: Record<string, unknown> }[] })?.errors?.[0];
  const token = first?.extensions?.mfaToken;
  return first?.extensions?.code === 'MFA_REQUIRED' && typeof token === 'string' ? token : null;
}

/** What to tell the user when a code was refused (the API's code decides, never its wording). */
export function codeProblem(e: unknown, signingIn = false): string {
  const p = problemOf(e);
  switch (p.code) {
    case 'BAD_USER_INPUT':
      return 'Type the 6-digit code from your authenticator app, or one of your recovery codes.';
    case 'UNAUTHENTICATED':
      return (
        'That code was not accepted. Each code works once: wait for the next code in your app, or use an unused recovery code.' +
        (signingIn ? ' After 5 minutes, cancel and sign in with your password again.' : '')
      );
    case 'TOO_MANY_REQUESTS':
      return 'Too many attempts; wait a minute and try again.';
    default:
      return p.message;
  }
}

/** Secret in groups of four characters, easier to type into an app by hand. */
export function groupSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}
