import { createSecretKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppError } from '../../common/errors.js';
import { isUuid } from '../../common/uuid.js';
import { AppConfig } from '../../config/app-config.js';
import { SessionsRepository } from '../../sessions/sessions.repository.js';
import { toUser } from '../../users/user.model.js';
import type { Principal } from '../principal.js';
import { isAccessClaims, JWT_ALGORITHM } from '../token.service.js';

/**
 * Bearer access tokens: signature with the one pinned algorithm, exp, iss and
 * aud are checked by passport-jwt; then the token's type, and that its
 * session is still live (one query), so a logout or a revocation ends the
 * token at once rather than when it expires.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: AppConfig,
    private readonly sessions: SessionsRepository,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A KeyObject: given a string, jsonwebtoken tries createPublicKey() on it
      // (a PEM parse that throws) on every verify.
      secretOrKey: createSecretKey(Buffer.from(config.jwtAccessSecret)) as unknown as Buffer,
      algorithms: [JWT_ALGORITHM],
      issuer: config.env.JWT_ISSUER,
      audience: config.env.JWT_AUDIENCE,
      ignoreExpiration: false,
    });
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
