import {
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import jsonwebtoken, { type VerifyOptions } from 'jsonwebtoken';
import { AppConfig } from '../config/app-config.js';

export const ACCESS_TOKEN_TYPE = 'access';
export const JWT_ALGORITHM = 'HS256';

/** Who and what an access token is for (its claims besides iss, aud, iat, exp, jti). */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  /** RFC 8176 methods of the session: ["pwd"] or ["pwd","otp"]. */
  amr: string[];
  emailVerified: boolean;
}

export interface AccessClaims {
  sub: string;
  sid: string;
  typ: string;
  exp: number;
  iat: number;
  iss: string;
  aud: string | string[];
}

/**
 * Access tokens (short-lived JWTs: HS256 pinned, exp/iss/aud/typ set and
 * checked, `sub` = user id, `sid` = session id) and refresh tokens (opaque,
 * 256 bits, stored only as SHA-256).
 */
@Injectable()
export class TokenService {
  private readonly rotationKey: Buffer;
  private readonly verifyKey: KeyObject;
  private readonly verifyOptions: VerifyOptions & { complete?: false };

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {
    this.verifyKey = createSecretKey(Buffer.from(config.jwtAccessSecret));
    this.verifyOptions = Object.freeze({
      algorithms: [JWT_ALGORITHM],
      issuer: config.env.JWT_ISSUER,
      audience: config.env.JWT_AUDIENCE,
    }) as VerifyOptions & { complete?: false };
    this.rotationKey = Buffer.from(
      hkdfSync('sha256', config.jwtAccessSecret, 'auth-api', 'refresh-token-rotation/v1', 32),
    );
  }

  signAccessToken(a: AccessTokenSubject): { token: string; expiresAt: Date } {
    const ttlSeconds = Math.max(1, Math.round(this.config.env.ACCESS_TOKEN_TTL / 1000));
    const token = this.jwt.sign(
      {
        sid: a.sessionId,
        typ: ACCESS_TOKEN_TYPE,
        amr: a.amr,
        email_verified: a.emailVerified,
        jti: randomUUID(),
      },
      {
        subject: a.userId,
        expiresIn: ttlSeconds,
        algorithm: JWT_ALGORITHM,
        issuer: this.config.env.JWT_ISSUER,
        audience: this.config.env.JWT_AUDIENCE,
      },
    );
    const { exp } = this.jwt.decode<{ exp: number }>(token);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * The payload of a JWT whose signature (the one pinned algorithm), exp, iss
   * and aud check out, or null. Called on every guarded request: jsonwebtoken
   * directly, with a KeyObject and options built once (given a string secret
   * jsonwebtoken tries to parse it as a PEM key on every call, and
   * JwtService.verify merges option objects on every call).
   */
  verifyJwt(token: string): unknown {
    try {
      return jsonwebtoken.verify(token, this.verifyKey, this.verifyOptions);
    } catch {
      return null;
    }
  }

  /** The claims of a valid access token, or null (any failure: forged, expired, wrong type...). */
  verifyAccessToken(token: string): AccessClaims | null {
    const claims = this.verifyJwt(token);
    return isAccessClaims(claims) ? claims : null;
  }

  /** A fresh refresh token: 32 random bytes, base64url. */
  newRefreshToken(): string {
    return randomBytes(32).toString('base64url');
  }

  /**
   * The token that replaces `parent` when it is rotated. Derived with a keyed
   * HMAC (not stored anywhere) so that concurrent refreshes with the same
   * parent, inside the grace window, can all be answered with the same child
   * without the server ever keeping a usable token.
   */
  childRefreshToken(parent: string): string {
    return createHmac('sha256', this.rotationKey).update(parent).digest('base64url');
  }

  hashRefreshToken(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}

export function isAccessClaims(c: unknown): c is AccessClaims {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return (
    o.typ === ACCESS_TOKEN_TYPE &&
    typeof o.sub === 'string' &&
    typeof o.sid === 'string' &&
    typeof o.exp === 'number' &&
    typeof o.iat === 'number'
  );
}
