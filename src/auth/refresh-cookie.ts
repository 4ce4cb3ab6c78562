import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config.js';
import { GRAPHQL_PATH } from '../graphql/context.js';
import { AuthPayload } from './auth-payload.model.js';
import type { IssuedTokens } from './session-issuer.service.js';

/**
 * How the refresh token travels: in AuthPayload.refreshToken by default, or,
 * with AUTH_REFRESH_COOKIE=true, only as an HttpOnly cookie limited to the
 * GraphQL path (so it is sent nowhere else), SameSite (AUTH_COOKIE_SAMESITE,
 * strict by default) and Secure in production. No `__Host-` prefix: that
 * prefix demands Path=/, which would send the token with every request.
 */
@Injectable()
export class RefreshTokenTransport {
  constructor(private readonly config: AppConfig) {}

  get cookieMode(): boolean {
    return this.config.env.AUTH_REFRESH_COOKIE;
  }

  /** The payload the client sees; in cookie mode the token goes into the cookie instead. */
  deliver(res: FastifyReply, t: IssuedTokens): AuthPayload {
    const p = new AuthPayload();
    p.accessToken = t.accessToken;
    p.accessTokenExpiresAt = t.accessTokenExpiresAt;
    p.refreshTokenExpiresAt = t.refreshTokenExpiresAt;
    p.user = t.user;
    if (this.cookieMode) {
      const maxAge = Math.max(
        0,
        Math.floor((t.refreshTokenExpiresAt.getTime() - Date.now()) / 1000),
      );
      res.setCookie(this.config.env.AUTH_COOKIE_NAME, t.refreshToken, {
        ...this.attributes(),
        maxAge,
      });
      p.refreshToken = null;
    } else {
      p.refreshToken = t.refreshToken;
    }
    p.deviceToken = null;
    if (t.deviceToken) {
      if (this.cookieMode) {
        res.setCookie(this.config.env.AUTH_DEVICE_COOKIE_NAME, t.deviceToken, {
          ...this.attributes(),
          maxAge: Math.floor(this.config.env.AUTH_DEVICE_TOKEN_TTL / 1000),
        });
      } else {
        p.deviceToken = t.deviceToken;
      }
    }
    return p;
  }

  /** The device token given in the login input, else (cookie mode only) the device cookie's. */
  readDevice(req: FastifyRequest, fromInput?: string | null): string | null {
    if (fromInput) return fromInput;
    if (!this.cookieMode) return null;
    return req.cookies?.[this.config.env.AUTH_DEVICE_COOKIE_NAME] ?? null;
  }

  /** The token given in the input, else (cookie mode only) the cookie's. */
  read(req: FastifyRequest, fromInput?: string | null): string | null {
    if (fromInput) return fromInput;
    if (!this.cookieMode) return null;
    return req.cookies?.[this.config.env.AUTH_COOKIE_NAME] ?? null;
  }

  clear(res: FastifyReply): void {
    if (this.cookieMode) res.clearCookie(this.config.env.AUTH_COOKIE_NAME, this.attributes());
  }

  private attributes() {
    return {
      httpOnly: true,
      secure: this.config.isProduction || this.config.env.AUTH_COOKIE_SAMESITE === 'none',
      sameSite: this.config.env.AUTH_COOKIE_SAMESITE,
      path: GRAPHQL_PATH,
    } as const;
  }
}

export function bearerToken(req: FastifyRequest): string | null {
  return bearerFromHeader(req.headers.authorization);
}

/** The token of an `Authorization: Bearer <token>` header value, or null. */
export function bearerFromHeader(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}
