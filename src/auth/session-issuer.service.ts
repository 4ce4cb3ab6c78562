import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { AppError, INVALID_CREDENTIALS } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import type { Db } from '../database/db.js';
import { PrismaClient } from '../generated/prisma/client.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { toUser, type PublicUserRow, type User } from '../users/user.model.js';
import { UsersRepository } from '../users/users.repository.js';
import { DeviceTokenService } from '../devices/device-token.service.js';
import { TokenService } from './token.service.js';

/** What a login, a register, a refresh or a second factor hands to the client. */
export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
  /** A new device token (src/devices), after a login, register or second factor; not on a refresh. */
  deviceToken?: string | null;
}

/** Password only, or password and a one-time code (RFC 8176). */
export const AMR_PASSWORD = ['pwd'];
export const AMR_PASSWORD_OTP = ['pwd', 'otp'];

/**
 * Opens sessions and issues their tokens: the last step of register, login
 * and verifyMfa, and the token half of a refresh.
 */
@Injectable()
export class SessionIssuer {
  constructor(
    private readonly config: AppConfig,
    private readonly prisma: PrismaClient,
    private readonly sessions: SessionsRepository,
    private readonly users: UsersRepository,
    private readonly tokens: TokenService,
    private readonly devices: DeviceTokenService,
  ) {}

  /**
   * A new session for a user whose credentials were just checked, at the
   * version checked (`credentialsVersion`): if the password was changed or
   * reset, a second factor turned on, or the account disabled since, no
   * session is opened (UNAUTHENTICATED, or FORBIDDEN for a disabled account).
   * The LOGIN (or REGISTER) event is written with it; `db` is the caller's
   * transaction, if any.
   */
  async open(
    user: PublicUserRow,
    opts: { amr: string[]; credentialsVersion: number; event?: 'LOGIN' | 'REGISTER' },
    client: ClientInfo,
    db: Db = this.prisma,
  ): Promise<IssuedTokens> {
    const refreshToken = this.tokens.newRefreshToken();
    const now = new Date();
    const expiresAt = this.refreshExpiry(now);
    const sessionId = uuidv7();
    const opened = await this.sessions.open(db, {
      userId: user.id,
      credentialsVersion: opts.credentialsVersion,
      sessionId,
      tokenHash: this.tokens.hashRefreshToken(refreshToken),
      expiresAt,
      amr: opts.amr,
      client,
      event: opts.event ?? 'LOGIN',
      maxLive: this.config.env.AUTH_MAX_SESSIONS,
      now,
    });
    if (!opened) {
      const current = await this.users.findById(user.id, db);
      if (current?.disabledAt) throw accountDisabled();
      // The credentials changed while they were being checked.
      throw AppError.unauthenticated(INVALID_CREDENTIALS, 'CREDENTIALS_CHANGED');
    }
    return {
      ...this.issue(user, sessionId, opts.amr, refreshToken, expiresAt),
      deviceToken: this.devices.issue(user.email),
    };
  }

  /** The tokens of a session that exists (a new session, or a rotation). */
  issue(
    user: PublicUserRow,
    sessionId: string,
    amr: string[],
    refreshToken: string,
    refreshTokenExpiresAt: Date,
  ): IssuedTokens {
    const access = this.tokens.signAccessToken({
      userId: user.id,
      sessionId,
      amr,
      emailVerified: user.emailVerifiedAt !== null,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
      user: toUser(user),
    };
  }

  refreshExpiry(now: Date): Date {
    return new Date(now.getTime() + this.config.env.REFRESH_TOKEN_TTL);
  }
}

/** FORBIDDEN for a disabled account: only ever after correct credentials. */
export function accountDisabled(): AppError {
  return AppError.forbidden('This account is disabled', 'ACCOUNT_DISABLED');
}
