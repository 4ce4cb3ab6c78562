import { Injectable, Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { AppError, ErrorCode, INVALID_CREDENTIALS } from '../common/errors.js';
import {
  EMAIL_MAX,
  normaliseEmail,
  normaliseName,
  OPAQUE_TOKEN,
  passwordTooLarge,
  USER_AGENT_MAX,
} from '../common/rules.js';
import { AppConfig } from '../config/app-config.js';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { Role } from '../generated/prisma/enums.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { toUser, type User } from '../users/user.model.js';
import { UsersRepository } from '../users/users.repository.js';
import { LoginAttemptStore } from './login-attempts.js';
import { PasswordService } from '../passwords/password.service.js';
import type { ClientInfo, Principal } from './principal.js';
import { TokenService } from './token.service.js';

export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
}

/** 32 bytes in base64url; anything else cannot be one of ours and skips the database. */
const REFRESH_TOKEN_SHAPE = OPAQUE_TOKEN;

/** The rules of registration, login, rotation, logout and password change. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
    private readonly attempts: LoginAttemptStore,
  ) {}

  async register(
    input: { email: string; password: string; name?: string | null },
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    // The rules of each field were applied to the input (common/validators.ts).
    const email = normaliseEmail(input.email);
    const name = normaliseName(input.name);

    const passwordHash = await this.passwords.hash(input.password);
    const role = this.config.env.ADMIN_EMAILS.map(normaliseEmail).includes(email)
      ? Role.ADMIN
      : Role.USER;
    const refreshToken = this.tokens.newRefreshToken();
    const expiresAt = this.refreshExpiry();
    let created;
    try {
      created = await this.users.createWithSession(
        { email, name, passwordHash, role },
        {
          ...this.clientFields(client),
          tokenHash: this.tokens.hashRefreshToken(refreshToken),
          expiresAt,
        },
      );
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new AppError(ErrorCode.CONFLICT, 'An account with this email already exists');
      }
      throw e;
    }
    this.event('log', client, {
      event: 'register',
      userId: created.id,
      sessionId: created.sessions[0].id,
    });
    return this.issue(toUser(created), created.sessions[0].id, refreshToken, expiresAt);
  }

  async login(
    input: { email: string; password: string },
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    const email = normaliseEmail(input.email);
    const wait = await this.attempts.blockedFor(email);
    if (wait > 0) {
      this.event('warn', client, { event: 'login_locked', retryAfterSeconds: wait });
      throw AppError.tooManyRequests(wait);
    }
    const user = await this.checkCredentials(email, input.password);
    if (!user) {
      this.event('warn', client, { event: 'login_failed' });
      throw AppError.unauthenticated(INVALID_CREDENTIALS);
    }
    await this.attempts.clear(email);
    const refreshToken = this.tokens.newRefreshToken();
    const expiresAt = this.refreshExpiry();
    const session = await this.sessions.create({
      userId: user.id,
      ...this.clientFields(client),
      tokenHash: this.tokens.hashRefreshToken(refreshToken),
      expiresAt,
    });
    this.event('log', client, { event: 'login', userId: user.id, sessionId: session.id });
    return this.issue(toUser(user), session.id, refreshToken, expiresAt);
  }

  /**
   * Rotation. The presented token dies and its child is issued in the same
   * session. A token that was already rotated is reuse, and revokes the whole
   * session, unless it was rotated less than REFRESH_REUSE_GRACE ago and its
   * child is still the live token: then this is a concurrent refresh (two
   * tabs, a retried request) and gets that same child, so a session never forks.
   */
  async refresh(token: string | null | undefined, client?: ClientInfo): Promise<IssuedTokens> {
    if (!token || !REFRESH_TOKEN_SHAPE.test(token))
      throw AppError.unauthenticated('Invalid refresh token');
    const row = await this.sessions.findRefreshToken(this.tokens.hashRefreshToken(token));
    const now = new Date();
    if (!row || row.session.revokedAt || row.expiresAt <= now || row.session.expiresAt <= now) {
      throw AppError.unauthenticated('Invalid refresh token');
    }
    const child = this.tokens.childRefreshToken(token);
    const childHash = this.tokens.hashRefreshToken(child);
    if (!row.rotatedAt) {
      const expiresAt = this.refreshExpiry(now);
      const won = await this.sessions.rotate({
        parentId: row.id,
        sessionId: row.sessionId,
        childId: uuidv7(),
        childHash,
        expiresAt,
        now,
      });
      if (won) {
        this.event('log', client, {
          event: 'refresh',
          userId: row.user.id,
          sessionId: row.sessionId,
        });
        return this.issue(toUser(row.user), row.sessionId, child, expiresAt);
      }
    }
    // Already rotated (before, or by a concurrent call that won the swap).
    return this.refreshRotated(row.sessionId, row.session.userId, child, childHash, client);
  }

  private async refreshRotated(
    sessionId: string,
    userId: string,
    child: string,
    childHash: string,
    client: ClientInfo | undefined,
  ): Promise<IssuedTokens> {
    const again = await this.sessions.findRefreshToken(this.tokens.hashRefreshToken(child));
    const parentRotatedAt = again?.createdAt; // set to the rotation time by the rotation
    const now = Date.now();
    const grace = this.config.env.REFRESH_REUSE_GRACE;
    // grace 0 means no grace at all (not "the same millisecond").
    if (
      grace > 0 &&
      again &&
      again.tokenHash === childHash &&
      !again.rotatedAt &&
      !again.session.revokedAt &&
      again.expiresAt.getTime() > now &&
      parentRotatedAt &&
      now - parentRotatedAt.getTime() <= grace
    ) {
      this.event('log', client, { event: 'refresh_concurrent', userId, sessionId });
      return this.issue(toUser(again.user), sessionId, child, again.expiresAt);
    }
    await this.sessions.revoke(sessionId, 'reuse');
    this.event('warn', client, { event: 'refresh_token_reuse', userId, sessionId });
    throw AppError.unauthenticated('Invalid refresh token');
  }

  /**
   * Ends the session named by the refresh token or, failing that, by the
   * access token; with allSessions every session of that user. Idempotent:
   * when nothing names a live session it changes nothing and answers true.
   */
  async logout(
    args: {
      refreshToken?: string | null;
      accessToken?: string | null;
      allSessions?: boolean | null;
    },
    client?: ClientInfo,
  ): Promise<boolean> {
    let target: { sessionId: string; userId: string } | null = null;
    if (args.refreshToken && REFRESH_TOKEN_SHAPE.test(args.refreshToken)) {
      const row = await this.sessions.findRefreshToken(
        this.tokens.hashRefreshToken(args.refreshToken),
      );
      if (row) target = { sessionId: row.sessionId, userId: row.session.userId };
    }
    if (!target && args.accessToken) {
      const claims = this.tokens.verifyAccessToken(args.accessToken);
      if (claims) target = { sessionId: claims.sid, userId: claims.sub };
    }
    if (!target) return true;
    if (args.allSessions) {
      // Only a live session may end all the others.
      const live = await this.sessions.findLiveSession(target.sessionId, new Date());
      if (!live) return true;
      const n = await this.sessions.revokeAllOfUser(target.userId, 'logout_all');
      this.event('log', client, { event: 'logout_all', userId: target.userId, sessions: n });
    } else if (await this.sessions.revoke(target.sessionId, 'logout')) {
      this.event('log', client, {
        event: 'logout',
        userId: target.userId,
        sessionId: target.sessionId,
      });
    }
    return true;
  }

  /** Checks the current password (a failure counts as a failed login) and ends every other session. */
  async changePassword(
    principal: Principal,
    input: { currentPassword: string; newPassword: string },
    client?: ClientInfo,
  ): Promise<boolean> {
    const email = principal.user.email;
    const wait = await this.attempts.blockedFor(email);
    if (wait > 0) throw AppError.tooManyRequests(wait);
    const user = await this.checkCredentials(email, input.currentPassword);
    if (!user || user.id !== principal.user.id) {
      this.event('warn', client, { event: 'change_password_failed', userId: principal.user.id });
      throw AppError.unauthenticated('Current password is wrong');
    }
    const newHash = await this.passwords.hash(input.newPassword);
    if (!(await this.users.updatePasswordHash(user.id, user.passwordHash, newHash))) {
      // Changed by a concurrent request since we checked it.
      throw AppError.unauthenticated('Current password is wrong');
    }
    const n = await this.sessions.revokeAllOfUser(user.id, 'password_change', principal.sessionId);
    this.event('log', client, {
      event: 'password_changed',
      userId: user.id,
      otherSessionsRevoked: n,
    });
    return true;
  }

  /** An auth event, carrying the id of the request it belongs to. */
  private event(
    level: 'log' | 'warn',
    client: ClientInfo | undefined,
    fields: { event: string } & Record<string, unknown>,
  ): void {
    this.logger[level](client?.requestId ? { reqId: client.requestId, ...fields } : fields);
  }

  /**
   * One bcrypt compare whether or not the email exists (a dummy hash of the
   * same cost for unknown ones). A failure is counted against the account.
   */
  private async checkCredentials(email: string, password: string) {
    if (passwordTooLarge(password) || email.length > EMAIL_MAX) {
      await this.attempts.recordFailure(email);
      return null;
    }
    const user = await this.users.findByEmail(email);
    const ok = user
      ? await this.passwords.verify(password, user.passwordHash)
      : await this.passwords.verifyDummy(password);
    if (!ok || !user) {
      await this.attempts.recordFailure(email);
      return null;
    }
    return user;
  }

  private refreshExpiry(now = new Date()): Date {
    return new Date(now.getTime() + this.config.env.REFRESH_TOKEN_TTL);
  }

  private clientFields(client: ClientInfo) {
    return {
      ip: client.ip,
      userAgent: client.userAgent ? client.userAgent.slice(0, USER_AGENT_MAX) : null,
    };
  }

  private issue(
    user: User,
    sessionId: string,
    refreshToken: string,
    refreshTokenExpiresAt: Date,
  ): IssuedTokens {
    const access = this.tokens.signAccessToken(user.id, sessionId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
      user,
    };
  }
}
