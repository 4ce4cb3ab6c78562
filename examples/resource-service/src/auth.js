import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

/**
 * Verifies the auth API's access tokens with its published keys, as any
 * service behind it would: jose's createRemoteJWKSet (the key chosen by the
 * token's `kid` among the published ones; the set fetched again when a `kid`
 * is unknown or the cache is old, so rotated keys are picked up without a
 * restart) and jwtVerify with the issuer, the audience and the algorithm
 * pinned. A header's `jwk`, `jku` or `x5u` is never followed (jose ignores
 * them when given a key set).
 *
 * `verify(authorizationHeader)` resolves to the token's claims or throws a
 * GraphQLError: UNAUTHENTICATED (HTTP 401, with a WWW-Authenticate header,
 * RFC 6750) for a missing or refused token, SERVICE_UNAVAILABLE (503) when
 * the keys cannot be fetched (the token may well be good: a client must not
 * drop it).
 */
export function createTokenVerifier(auth, log = defaultLog) {
  let keySet; // a promise of jose's remote key set, resolved on first use

  function getKeySet() {
    keySet ??= resolveKeySet(auth).catch((e) => {
      keySet = undefined; // try the discovery document again next time
      throw e;
    });
    return keySet;
  }

  return async function verify(authorization) {
    const token = bearer(authorization);
    if (!token) throw unauthenticated('Missing Bearer access token', 'invalid_request');
    let jwks;
    try {
      jwks = await getKeySet();
      const { payload } = await jwtVerify(token, jwks, {
        issuer: auth.issuer,
        audience: auth.audience,
        algorithms: auth.algorithms,
        clockTolerance: auth.clockTolerance,
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch (e) {
      if (unavailable(e)) {
        log({ event: 'keys_unavailable', error: e.code ?? e.message });
        throw new GraphQLError('Cannot verify access tokens right now', {
          extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } },
        });
      }
      // Only jose's error code is logged, never the token.
      log({ event: 'token_refused', reason: e.code ?? 'invalid' });
      if (e instanceof errors.JWTExpired) {
        throw unauthenticated('Access token expired', 'invalid_token');
      }
      throw unauthenticated('Invalid access token', 'invalid_token');
    }
  };
}

async function resolveKeySet(auth) {
  let url = auth.jwksUrl;
  if (!url) {
    const res = await fetch(auth.discoveryUrl, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`${auth.discoveryUrl} answered ${res.status}`);
    const doc = await res.json();
    // The discovery document must be the one of the issuer this service trusts.
    if (doc.issuer !== auth.issuer) {
      throw new Error(`discovery issuer "${doc.issuer}" is not AUTH_ISSUER "${auth.issuer}"`);
    }
    url = doc.jwks_uri;
  }
  return createRemoteJWKSet(new URL(url), {
    cacheMaxAge: auth.cacheMaxAge,
    cooldownDuration: auth.cooldownDuration,
  });
}

function bearer(header) {
  const m = /^Bearer +([A-Za-z0-9\-_.]+=*) *$/i.exec(header ?? '');
  return m?.[1];
}

/** The keys could not be had (network, timeout, a broken answer), as opposed to a bad token. */
function unavailable(e) {
  return (
    !(e instanceof errors.JOSEError) ||
    e instanceof errors.JWKSTimeout ||
    e instanceof errors.JWKSInvalid ||
    e.code === 'ERR_JOSE_GENERIC'
  );
}

function unauthenticated(message, error) {
  return new GraphQLError(message, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: {
        status: 401,
        headers: new HeaderMap([['www-authenticate', `Bearer realm="notes", error="${error}"`]]),
      },
    },
  });
}

function defaultLog(line) {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
}
