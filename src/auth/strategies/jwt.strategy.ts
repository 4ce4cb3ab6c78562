import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors.js';
import { isUuid } from '../../common/rules.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import { toUser, type User } from '../../users/user.model.js';
import type { Principal } from '../principal.js';
import { bearerFromHeader } from '../refresh-cookie.js';
import { isAccessClaims, TokenService } from '../token.service.js';

/**
 * Bearer access tokens: TokenService checks the signature (the one pinned
 * algorithm), exp, iss and aud; then the token's type, and that its session
 * is still live (one query), so a logout or a revocation ends the token at
 * once rather than when it expires. Called directly by GqlAuthGuard (no
 * passport: its per-request strategy objects and callbacks were measurable
 * on the hot path and bought nothing here).
 */
@Injectable()
export class JwtStrategy {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionsRepository,
  ) {}

  /**
   * The Principal of an `Authorization: Bearer <jwt>` header; rejects with
   * UNAUTHENTICATED otherwise. Not `async`: it hands on validate()'s promise
   * (an async function that returns a promise settles its own two microtask
   * turns later, on every guarded call).
   */
  authenticate(authorization: string | string[] | undefined): Promise<Principal> {
    const token = bearerFromHeader(authorization);
    const invalid = () =>
      Promise.reject(AppError.unauthenticated('Missing or invalid access token'));
    if (!token) return invalid();
    return this.tokens
      .verifyJwt(token)
      .then((payload) => (payload === null ? invalid() : this.validate(payload)));
  }

  /** The caller's User (`me`): authenticate()'s check. */
  async authenticateUser(authorization: string | string[] | undefined): Promise<User> {
    return (await this.authenticate(authorization)).user;
  }

  async validate(payload: unknown): Promise<Principal> {
    if (!isAccessClaims(payload) || !isUuid(payload.sub) || !isUuid(payload.sid)) {
      throw AppError.unauthenticated('Invalid access token');
    }
    const user = await this.sessions.findUserOfLiveSession(payload.sub, payload.sid, new Date());
    if (!user) throw AppError.unauthenticated('Session has ended');
    return { user: toUser(user), sessionId: payload.sid };
  }
}
