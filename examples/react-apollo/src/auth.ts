/**
 * The client's whole authentication state, outside React and outside Apollo:
 *
 * - the access token lives in this module's memory only (never localStorage,
 *   never a cookie the page can read): a reload forgets it;
 * - the refresh token lives only in the HttpOnly cookie `refresh_token`
 *   (server started with AUTH_REFRESH_COOKIE=true). The page never sees it;
 *   the browser sends it with requests to /graphql;
 * - `refreshAccessToken()` is the ONE way to get a new access token. It keeps
 *   a single in-flight promise: however many callers ask at once (parallel
 *   queries that all failed with UNAUTHENTICATED, the boot on page load,
 *   React StrictMode's double effects), one `refreshToken` request goes out
 *   and all of them get its result.
 * - across tabs of the same browser, refreshes are serialised with the Web
 *   Locks API, so two tabs never present the same cookie at the same moment
 *   (the server would otherwise have to rely on its reuse grace window).
 * - logging out in one tab logs out the others (BroadcastChannel).
 */
import { print } from 'graphql';
import { RefreshTokenDocument, type RefreshTokenMutation } from './generated/graphql';

export const GRAPHQL_URL: string = import.meta.env.VITE_GRAPHQL_URL || '/graphql';

export type AuthStatus = 'loading' | 'signed-in' | 'signed-out';

export interface AuthState {
  status: AuthStatus;
  /** Why the user sees the login form again (session expired, logged out elsewhere). */
  notice: string | null;
  /**
   * The server sent the refresh token in the response body: it is not in
   * cookie mode (AUTH_REFRESH_COOKIE=true). This app keeps no token a script
   * could read, so a reload signs the user out; the page says so.
   */
  cookieModeOff: boolean;
}

/** Remembered for this tab, so that the sign-out a reload causes is explained. */
const COOKIE_MODE_OFF_KEY = 'auth-api-example:cookie-mode-off';
export const COOKIE_MODE_OFF_NOTICE =
  'The reload signed you out: the API is not in cookie mode, so this app has no refresh token to restore your session with.';

function rememberedCookieModeOff(): boolean {
  try {
    return sessionStorage.getItem(COOKIE_MODE_OFF_KEY) === '1';
  } catch {
    return false;
  }
}

let accessToken: string | null = null;
/** Local clock time after which the access token is known to be expired (from its JWT exp - iat). */
let accessTokenDeadline = 0;
let state: AuthState = {
  status: 'loading',
  notice: null,
  cookieModeOff: rememberedCookieModeOff(),
};
const listeners = new Set<() => void>();
const sessionEndedHandlers = new Set<() => void | Promise<void>>();

function setState(next: AuthState): void {
  state = next;
  for (const l of listeners) l();
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function getAuthState(): AuthState {
  return state;
}

export function getAccessToken(): string | null {
  return accessToken;
}

/** True when the in-memory token is missing or known to be past its lifetime (local clock only, no skew). */
export function accessTokenExpired(): boolean {
  return !accessToken || Date.now() >= accessTokenDeadline;
}

/** The token's lifetime from its own claims (exp - iat), counted from when we received it. */
function deadlineOf(token: string): number {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as {
      exp?: number;
      iat?: number;
    };
    if (typeof payload.exp === 'number' && typeof payload.iat === 'number') {
      return Date.now() + (payload.exp - payload.iat) * 1000 - 1000;
    }
  } catch {
    /* not a JWT we can read: rely on the server saying UNAUTHENTICATED */
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * After login, register or a refresh: keep the new access token (memory
 * only). `refreshToken` is the payload's: non-null means the server is not in
 * cookie mode (the token is not kept; the page warns).
 */
export function signIn(token: string, refreshToken: string | null = null): void {
  accessToken = token;
  accessTokenDeadline = deadlineOf(token);
  const cookieModeOff = state.cookieModeOff || refreshToken !== null;
  if (cookieModeOff && !state.cookieModeOff) {
    try {
      sessionStorage.setItem(COOKIE_MODE_OFF_KEY, '1');
    } catch {
      /* storage unavailable: the warning still shows until a reload */
    }
  }
  if (state.status !== 'signed-in' || cookieModeOff !== state.cookieModeOff) {
    setState({ status: 'signed-in', notice: null, cookieModeOff });
  }
}

/** Runs when a session ends (refresh refused, logout, logout in another tab): Apollo clears its store. */
export function onSessionEnded(handler: () => void | Promise<void>): () => void {
  sessionEndedHandlers.add(handler);
  return () => sessionEndedHandlers.delete(handler);
}

/** Forgets the access token, clears the client store and shows the login form. */
export async function endSession(notice: string | null, broadcastToTabs = false): Promise<void> {
  accessToken = null;
  accessTokenDeadline = 0;
  setState({ status: 'signed-out', notice, cookieModeOff: state.cookieModeOff });
  if (broadcastToTabs) channel?.postMessage({ type: 'signed-out' });
  await Promise.all([...sessionEndedHandlers].map((h) => h()));
}

// ---- the single shared refresh ------------------------------------------------

let inFlight: Promise<string | null> | null = null;

/** The refresh in flight, if any: operations about to be sent wait for it instead of using a dying token. */
export function pendingRefresh(): Promise<string | null> | null {
  return inFlight;
}

/**
 * Gets a new access token from the refresh-token cookie. Every caller while a
 * refresh is in flight shares it. Resolves to the new token, or null when the
 * server refused (no cookie, expired, revoked, reused): the session is then
 * ended once, here, for everyone.
 */
export function refreshAccessToken(options: { quiet?: boolean } = {}): Promise<string | null> {
  inFlight ??= (async () => {
    try {
      const result = await withCrossTabLock(requestRefresh);
      if (result.token) {
        signIn(result.token);
        return result.token;
      }
      // A quiet refresh (page load) says nothing, unless this tab knows the
      // server is not in cookie mode: then that is why.
      const quietNotice = state.cookieModeOff ? COOKIE_MODE_OFF_NOTICE : null;
      await endSession(options.quiet ? quietNotice : result.reason);
      return null;
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

async function requestRefresh(): Promise<{ token: string | null; reason: string }> {
  try {
    const res = await fetch(GRAPHQL_URL, {
      method: 'POST',
      // 'include' also works when the API is on another origin (with CORS credentials).
      credentials: 'include',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        operationName: 'RefreshToken',
        query: print(RefreshTokenDocument),
        variables: {},
      }),
    });
    const body = (await res.json()) as {
      data?: RefreshTokenMutation | null;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    const token = body.data?.refreshToken?.accessToken ?? null;
    if (token) return { token, reason: '' };
    const code = body.errors?.[0]?.extensions?.code;
    return {
      token: null,
      reason:
        code === 'TOO_MANY_REQUESTS'
          ? 'Too many attempts; please sign in again in a minute.'
          : 'Your session has ended. Please sign in again.',
    };
  } catch {
    return { token: null, reason: 'The server could not be reached. Please sign in again.' };
  }
}

function withCrossTabLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return fn();
  return locks.request('auth-api-refresh-token', fn) as Promise<T>;
}

// ---- other tabs ---------------------------------------------------------------

const channel: BroadcastChannel | null =
  typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('auth-api-example') : null;

channel?.addEventListener('message', (e: MessageEvent<{ type?: string }>) => {
  if (e.data?.type === 'signed-out' && state.status === 'signed-in') {
    void endSession('You signed out in another tab.');
  }
});

// ---- page load ----------------------------------------------------------------

let boot: Promise<string | null> | null = null;

/**
 * On page load the access token is gone (memory only): try the cookie once.
 * A reload therefore stays signed in while the refresh-token session lives.
 */
export function bootstrap(): Promise<string | null> {
  boot ??= refreshAccessToken({ quiet: true });
  return boot;
}
