/**
 * The pages the API's mails link to: {APP_URL}/verify-email?token=… and
 * {APP_URL}/reset-password?token=… (APP_URL is this app's address). Plain
 * paths, no router: App.tsx asks `accountPage()` first.
 */
export const VERIFY_EMAIL_PATH = '/verify-email';
export const RESET_PASSWORD_PATH = '/reset-password';

/** The `token` query parameter of the current URL, if any. */
export function tokenFromUrl(): string {
  return new URLSearchParams(window.location.search).get('token') ?? '';
}

/** A GraphQL error's code and the fields it names (BAD_USER_INPUT). */
export function problemOf(e: unknown): { code?: string; fields: string[]; message: string } {
  const first = (e as { errors?: { extensions?: Record<string, unknown>; message?: string }[] })
    ?.errors?.[0];
  const fields = ((first?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field);
  return {
    code: first?.extensions?.code as string | undefined,
    fields,
    message: first?.message ?? (e instanceof Error ? e.message : String(e)),
  };
}

/** Tells the app's other tabs that the account changed (the banner reloads `me`). */
export const accountChannel: BroadcastChannel | null =
  typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('auth-api-example-account') : null;
