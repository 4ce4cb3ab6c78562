import { errors as joseErrors } from 'jose';
import { AppError } from '../../common/errors.js';
import { OPAQUE_TOKEN } from '../../common/rules.js';
import { bearerFromHeader } from '../refresh-cookie.js';

/**
 * Why an access token was refused, said to the caller: one code
 * (UNAUTHENTICATED) for all, a message saying which mistake it was and what
 * to do, and `extensions.reason` for programs (docs/api.md, Errors). None of
 * them tells a forger more than that the token is not ours: "expired" is only
 * said of a token whose signature was checked first (jsonwebtoken and jose
 * both check the signature before exp).
 */
export const ACCESS_TOKEN_REFUSALS = {
  ACCESS_TOKEN_MISSING:
    'No access token: send the header "Authorization: Bearer <accessToken>" (the accessToken of login, register or refreshToken)',
  ACCESS_TOKEN_WRONG_SCHEME:
    'Wrong Authorization header: it must read "Bearer <accessToken>" (the word Bearer, a space, the token)',
  REFRESH_TOKEN_GIVEN:
    'This is a refresh token: send the accessToken as Bearer (the refresh token only goes to refreshToken and logout)',
  ACCESS_TOKEN_MALFORMED: 'Malformed access token: not a JWT (header.payload.signature)',
  ACCESS_TOKEN_EXPIRED: 'Access token expired: get a new one with refreshToken',
  ACCESS_TOKEN_SIGNATURE:
    "Access token not signed by this server: its signature, algorithm or key (kid) is not this server's",
  ACCESS_TOKEN_CLAIMS:
    'Access token not valid here: its issuer, audience, type or not-before time does not match this server',
  SESSION_ENDED:
    'Session has ended (logout, revocation, refresh-token reuse or a disabled account): log in again',
} as const;

export type AccessTokenRefusal = keyof typeof ACCESS_TOKEN_REFUSALS;

export function accessTokenRefused(reason: AccessTokenRefusal): AppError {
  return AppError.unauthenticated(ACCESS_TOKEN_REFUSALS[reason], reason);
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The part of the token that is JSON, or null. */
function jsonPart(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString());
  } catch {
    return null;
  }
}

/**
 * What the request's Authorization header shows by itself: no token, a wrong
 * scheme, a refresh token, something that is not a JWT. Null when the token
 * is a JWT, whose fault only its verification can tell.
 */
export function refusalOfHeader(header: string | string[] | undefined): AccessTokenRefusal | null {
  if (header === undefined || header === '') return 'ACCESS_TOKEN_MISSING';
  const token = bearerFromHeader(header);
  if (token === null) {
    // "Bearer" alone is a missing token; anything else a wrong scheme
    return typeof header === 'string' && /^\s*Bearer\s*$/i.test(header)
      ? 'ACCESS_TOKEN_MISSING'
      : 'ACCESS_TOKEN_WRONG_SCHEME';
  }
  if (OPAQUE_TOKEN.test(token)) return 'REFRESH_TOKEN_GIVEN';
  if (!JWT_SHAPE.test(token)) return 'ACCESS_TOKEN_MALFORMED';
  const [h, p] = token.split('.');
  const head = jsonPart(h);
  const payload = jsonPart(p);
  if (
    typeof head !== 'object' ||
    head === null ||
    typeof payload !== 'object' ||
    payload === null
  ) {
    return 'ACCESS_TOKEN_MALFORMED';
  }
  return null;
}

/**
 * The fault passport's strategy found in a JWT: `info` is jsonwebtoken's
 * error (ES256, HS256), jose's (EdDSA, through TokenService.refusalOf), or
 * the strategy's own refusal of the key (no key of ours for its alg/kid).
 */
export function refusalOfVerification(info: unknown): AccessTokenRefusal {
  if (info instanceof joseErrors.JWTExpired) return 'ACCESS_TOKEN_EXPIRED';
  if (info instanceof joseErrors.JWTClaimValidationFailed) return 'ACCESS_TOKEN_CLAIMS';
  if (info instanceof joseErrors.JWSInvalid || info instanceof joseErrors.JWTInvalid) {
    return 'ACCESS_TOKEN_MALFORMED';
  }
  const name = info instanceof Error ? info.name : '';
  const message = info instanceof Error ? info.message : '';
  if (name === 'TokenExpiredError') return 'ACCESS_TOKEN_EXPIRED';
  if (name === 'NotBeforeError') return 'ACCESS_TOKEN_CLAIMS';
  if (name === 'JsonWebTokenError') {
    if (/^jwt (issuer|audience|subject|id) invalid/.test(message)) return 'ACCESS_TOKEN_CLAIMS';
    if (message === 'jwt malformed' || message === 'invalid token') return 'ACCESS_TOKEN_MALFORMED';
  }
  // invalid signature, invalid algorithm, no key of ours for its kid, a
  // foreign key header, jose's signature or algorithm errors
  return 'ACCESS_TOKEN_SIGNATURE';
}
