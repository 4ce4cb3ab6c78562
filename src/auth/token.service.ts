import {
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  randomUUID,
  sign,
  type KeyObject,
} from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { jwtVerify, type JWTHeaderParameters } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { AppConfig } from '../config/app-config.js';
import { KeySet } from '../keys/key-set.js';

export const ACCESS_TOKEN_TYPE = 'access';

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
 * Header members that name or carry a key somewhere else. Never followed
 * (the key always comes from our KeySet); a token carrying one is refused
 * outright: we never issue such a token.
 */
const FOREIGN_KEY_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];

export function hasForeignKeyHeader(header: object): boolean {
  return FOREIGN_KEY_HEADERS.some((h) => h in header);
}

/**
 * Access tokens (short-lived JWTs signed with the current key of the KeySet,
 * `kid` in the header; exp/iss/aud/typ set and checked, `sub` = user id,
 * `sid` = session id) and refresh tokens (opaque, 256 bits, stored only as
 * SHA-256).
 */
@Injectable()
export class TokenService {
  private readonly rotationKey: Buffer;

  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeySet,
  ) {
    this.rotationKey = Buffer.from(
      hkdfSync('sha256', config.jwtAccessSecret, 'auth-api', 'refresh-token-rotation/v1', 32),
    );
  }

  signAccessToken(a: AccessTokenSubject): { token: string; expiresAt: Date } {
    const ttlSeconds = Math.max(1, Math.round(this.config.env.ACCESS_TOKEN_TTL / 1000));
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + ttlSeconds;
    const payload = {
      iss: this.config.env.JWT_ISSUER,
      aud: this.config.env.JWT_AUDIENCE,
      sub: a.userId,
      sid: a.sessionId,
      typ: ACCESS_TOKEN_TYPE,
      amr: a.amr,
      email_verified: a.emailVerified,
      jti: randomUUID(),
      iat,
      exp,
    };
    const { algorithm, signer } = this.keys;
    const token =
      algorithm === 'EdDSA'
        ? signEdDSA(payload, signer.kid!, signer)
        : jsonwebtoken.sign(payload, signer.key, {
            algorithm,
            ...(signer.kid ? { keyid: signer.kid } : {}),
          });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * The payload of a JWT whose signature (by one of our keys, chosen by the
   * header's kid, with the one configured algorithm), exp, nbf, iss and aud
   * check out, or null. jose's jwtVerify: it never follows a jku/jwk/x5u
   * header (and such a token is refused before).
   */
  async verifyJwt(token: string): Promise<unknown> {
    try {
      return await this.joseVerify(token);
    } catch {
      return null;
    }
  }

  /**
   * The payload of a valid token, or jose's error for a refused one
   * (JWTExpired, JWSSignatureVerificationFailed...): the EdDSA path of the
   * JWT strategy, which hands that error to the guard to say why
   * (guards/access-token-refusal.ts).
   */
  async verifyJwtOrWhy(
    token: string,
  ): Promise<{ payload: unknown; error?: undefined } | { payload?: undefined; error: unknown }> {
    try {
      return { payload: await this.joseVerify(token) };
    } catch (e) {
      return { error: e };
    }
  }

  private async joseVerify(token: string): Promise<unknown> {
    const { payload } = await jwtVerify(token, (header) => this.keyOf(header), {
      algorithms: [this.keys.algorithm],
      issuer: this.config.env.JWT_ISSUER,
      audience: this.config.env.JWT_AUDIENCE,
    });
    return payload;
  }

  /** The claims of a valid access token, or null (any failure: forged, expired, wrong type...). */
  async verifyAccessToken(token: string): Promise<AccessClaims | null> {
    const claims = await this.verifyJwt(token);
    return isAccessClaims(claims) ? claims : null;
  }

  private keyOf(header: JWTHeaderParameters) {
    const key = hasForeignKeyHeader(header) ? undefined : this.keys.keyFor(header.kid);
    if (!key) throw new Error('no such key');
    return key;
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

/**
 * EdDSA (Ed25519) JWS by hand with node:crypto: jsonwebtoken 9 has no EdDSA,
 * and jose signs only asynchronously (the whole issuing path is synchronous).
 * Checked against jose's verification in test/integration/keys-*.test.ts.
 */
function signEdDSA(payload: object, kid: string, signer: { key: KeyObject }): string {
  const head = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const input = `${head}.${body}`;
  return `${input}.${sign(null, Buffer.from(input), signer.key).toString('base64url')}`;
}
