import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { ServerError } from '@apollo/client/errors';
import { defer, from, mergeMap, of, catchError, throwError, type Observable } from 'rxjs';
import {
  accessTokenExpired,
  getAccessToken,
  GRAPHQL_URL,
  onSessionEnded,
  pendingRefresh,
  refreshAccessToken,
} from './auth';

/**
 * Operations that authenticate by themselves: an UNAUTHENTICATED answer is
 * final (wrong password, wrong second-factor code...).
 */
const AUTH_OPERATIONS = new Set(['Login', 'Register', 'RefreshToken', 'Logout', 'VerifyMfa']);

/**
 * Not retried after UNAUTHENTICATED: a wrong `currentPassword` (or a wrong
 * second-factor code) is also UNAUTHENTICATED and counts as a failure, so a
 * blind retry would count it twice (and a code that was accepted cannot be
 * sent again anyway). Instead the token is refreshed BEFORE sending when it
 * is known to be expired.
 */
const REFRESH_BEFORE_ONLY = new Set(['ChangePassword', 'DisableTotp', 'RegenerateRecoveryCodes']);

function isUnauthenticated(result: ApolloLink.Result): boolean {
  const errors = (result as { errors?: readonly { extensions?: { code?: unknown } }[] }).errors;
  return !!errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}

/**
 * Sends each operation with `Authorization: Bearer <in-memory token>`. When
 * the answer is UNAUTHENTICATED it joins the ONE shared refresh (see
 * auth.ts: a single in-flight promise, so N parallel failures make one
 * `refreshToken` request) and retries the operation once with the new token.
 * If the refresh is refused, auth.ts has already ended the session (store
 * cleared, login form shown) and the original error is passed on.
 *
 * Refresh-storm guards:
 * - an operation that starts while a refresh is in flight waits for it
 *   instead of going out with the dying token;
 * - an operation that failed with a token that has since been replaced (the
 *   refresh finished while it was on the wire) is retried at once with the
 *   new token, without another refresh;
 * - a retried operation never triggers a second refresh.
 */
export const authLink = new ApolloLink((operation, forward) => {
  const name = operation.operationName ?? '';
  const baseHeaders = { ...(operation.getContext().headers as Record<string, string> | undefined) };

  if (AUTH_OPERATIONS.has(name)) return forward(operation);

  const send = (usedToken: string | null) => {
    const headers = { ...baseHeaders };
    if (usedToken) headers.authorization = `Bearer ${usedToken}`;
    operation.setContext({ headers });
    return forward(operation);
  };

  const attempt = (retried: boolean): Observable<ApolloLink.Result> =>
    defer(async () => {
      // Never send with a token that is being replaced, or (for operations we
      // will not retry) with one we know is past its lifetime.
      const pending = pendingRefresh();
      if (pending) await pending;
      else if (REFRESH_BEFORE_ONLY.has(name) && accessTokenExpired()) await refreshAccessToken();
      return getAccessToken();
    }).pipe(
      mergeMap((usedToken) => {
        const onUnauthenticated = (original: Observable<ApolloLink.Result>) => {
          if (retried || REFRESH_BEFORE_ONLY.has(name)) return original;
          const current = getAccessToken();
          if (current && current !== usedToken) return attempt(true);
          return from(refreshAccessToken()).pipe(
            mergeMap((token) => (token ? attempt(true) : original)),
          );
        };
        return send(usedToken).pipe(
          mergeMap((result) =>
            isUnauthenticated(result) ? onUnauthenticated(of(result)) : of(result),
          ),
          // A proxy or gateway may answer 401 instead of a GraphQL error.
          catchError((err: unknown) =>
            ServerError.is(err) && err.statusCode === 401
              ? onUnauthenticated(throwError(() => err))
              : throwError(() => err),
          ),
        );
      }),
    );

  return attempt(false);
});

export function createApolloClient(): ApolloClient {
  const client = new ApolloClient({
    // JSON POSTs (Apollo Server's CSRF prevention accepts them). 'include'
    // sends the refresh cookie; the access token goes in the header only.
    link: ApolloLink.from([authLink, new HttpLink({ uri: GRAPHQL_URL, credentials: 'include' })]),
    cache: new InMemoryCache(),
  });
  // When the session ends (refresh refused, logout, logout in another tab)
  // nothing of the previous user may stay in the cache.
  onSessionEnded(() => client.clearStore().then(() => undefined));
  return client;
}
