import { createSecretKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import jsonwebtoken, { type VerifyOptions } from 'jsonwebtoken';
import { AppError } from '../../common/errors.js';
import { isUuid } from '../../common/uuid.js';
import { AppConfig } from '../../config/app-config.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import { toUser } from '../../users/user.model.js';
import type { Principal } from '../principal.js';
import { isAccessClaims, JWT_ALGORITHM } from '../token.service.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Bearer access tokens: signature with the one pinned algorithm, exp, iss and
 * aud are checked by jsonwebtoken; then the token's type, and that its
 * session is still live (one query), so a logout or a revocation ends the
 * token at once rather than when it expires. Called directly by
 * GqlAuthGuard (no passport: its per-request strategy objects and callbacks
 * were measurable on the hot path and bought nothing here), and calling
 * jsonwebtoken directly with options built once (JwtService.verify copies
 * and merges its option objects on every call: ~1 % of the CPU of `me`).
 */
@Injectable()
export class JwtStrategy {
  /**
   * A KeyObject: given a string, jsonwebtoken tries createPublicKey() on it
   * (a PEM parse that throws) on every verify, a third of the CPU of `me`.
   */
  private readonly key: KeyObject;
  private readonly verifyOptions: VerifyOptions & { complete?: false };

  constructor(
    config: AppConfig,
    private readonly sessions: SessionsRepository,
  ) {
    this.key = createSecretKey(Buffer.from(config.jwtAccessSecret));
    this.verifyOptions = Object.freeze({
      algorithms: [JWT_ALGORITHM],
      issuer: config.env.JWT_ISSUER,
      audience: config.env.JWT_AUDIENCE,
    }) as VerifyOptions & { complete?: false };
  }

  /** The Principal of an `Authorization: Bearer <jwt>` header; UNAUTHENTICATED otherwise. */
  async authenticate(authorization: string | string[] | undefined): Promise<Principal> {
    const m = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    if (!m) throw AppError.unauthenticated('Missing or invalid access token');
    let payload: unknown;
    try {
      payload = jsonwebtoken.verify(m[1], this.key, this.verifyOptions);
    } catch {
      throw AppError.unauthenticated('Missing or invalid access token');
    }
    return this.validate(payload);
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
