import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppError } from '../common/errors.js';
import { OPAQUE_TOKEN } from '../common/rules.js';
import { AppConfig } from '../config/app-config.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import {
  isSessionLive,
  SessionsRepository,
  type RefreshTokenRow,
} from '../sessions/sessions.repository.js';
import { logAuthEvent } from './auth-log.js';
import { accountDisabled, SessionIssuer, type IssuedTokens } from './session-issuer.service.js';
import { TokenService } from './token.service.js';

/** Three base64url parts joined by dots: a JWT, i.e. an access token sent where a refresh token goes. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const refused = (message: string, reason: string) => AppError.unauthenticated(message, reason);

/**
 * refreshToken: rotation with reuse detection. The presented token dies and
 * its child is issued in the same session (which keeps its amr). Presenting
 * a token that was already rotated away is reuse and revokes the whole
 * session, with one exception: within REFRESH_REUSE_GRACE of the rotation,
 * the same client (same user agent) asking again gets that same child, so two
 * tabs or a retried request never fork the session nor end it.
 */
@Injectable()
export class RefreshService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsRepository,
    private readonly tokens: TokenService,
    private readonly issuer: SessionIssuer,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  async refresh(token: string | null | undefined, client: ClientInfo): Promise<IssuedTokens> {
    const { presented, row } = await this.find(token);
    const now = new Date();
    if (!isSessionLive(row.session, now)) {
      if (!row.rotatedAt && row.expiresAt > now && row.user.disabledAt) throw accountDisabled();
      throw refused('The session of this refresh token has ended: log in again', 'SESSION_ENDED');
    }
    if (row.expiresAt <= now) {
      throw refused('This refresh token has expired: log in again', 'REFRESH_TOKEN_EXPIRED');
    }
    const child = this.tokens.childRefreshToken(presented);
    if (!row.rotatedAt) {
      const expiresAt = this.issuer.refreshExpiry(now);
      const won = await this.sessions.rotate({
        parentId: row.id,
        childId: uuidv7(),
        childHash: this.tokens.hashRefreshToken(child),
        expiresAt,
        now,
        client: clientFingerprint(client),
      });
      if (won) {
        logAuthEvent(this.logger, 'log', client, {
          event: 'refresh',
          userId: row.user.id,
          sessionId: row.sessionId,
        });
        return this.issuer.issue(row.user, row.sessionId, row.session.amr, child, expiresAt);
      }
    }
    // Rotated already: before, or by a concurrent call that won the swap.
    return this.again(row, child, client);
  }

  /** The row of a presented token, or UNAUTHENTICATED saying what is wrong with it. */
  private async find(
    token: string | null | undefined,
  ): Promise<{ presented: string; row: RefreshTokenRow }> {
    if (!token) {
      throw refused(
        'No refresh token: pass input.refreshToken (in cookie mode, the refresh-token cookie is read)',
        'REFRESH_TOKEN_MISSING',
      );
    }
    if (!OPAQUE_TOKEN.test(token)) {
      if (JWT_SHAPE.test(token)) {
        throw refused(
          'This is an access token: refreshToken takes the refresh token of the session',
          'ACCESS_TOKEN_GIVEN',
        );
      }
      throw refused('Malformed refresh token', 'REFRESH_TOKEN_MALFORMED');
    }
    const row = await this.sessions.findRefreshToken(this.tokens.hashRefreshToken(token));
    if (!row) throw refused('Unknown refresh token', 'REFRESH_TOKEN_UNKNOWN');
    return { presented: token, row };
  }

  /**
   * A parent presented after its rotation: the same child again when it is
   * the same client inside the grace window and the child is still the live
   * token of a live session; otherwise reuse.
   */
  private async again(
    row: RefreshTokenRow,
    child: string,
    client: ClientInfo,
  ): Promise<IssuedTokens> {
    const now = new Date();
    const rotation = await this.sessions.findRotation(row.id, now);
    const grace = this.config.env.REFRESH_REUSE_GRACE;
    // grace 0 means no grace at all (not "the same millisecond").
    const inWindow =
      grace > 0 && rotation !== null && now.getTime() - rotation.rotatedAt.getTime() <= grace;
    if (
      inWindow &&
      rotation.sessionLive &&
      rotation.childHash === this.tokens.hashRefreshToken(child) &&
      rotation.childRotatedAt === null &&
      rotation.childExpiresAt > now
    ) {
      if (rotation.rotatedByClient === clientFingerprint(client)) {
        logAuthEvent(this.logger, 'log', client, {
          event: 'refresh_concurrent',
          userId: row.user.id,
          sessionId: row.sessionId,
        });
        return this.issuer.issue(
          row.user,
          row.sessionId,
          row.session.amr,
          child,
          rotation.childExpiresAt,
        );
      }
      logAuthEvent(this.logger, 'warn', client, {
        event: 'refresh_grace_other_client',
        userId: row.user.id,
        sessionId: row.sessionId,
      });
    }
    await this.transactions.run(async (tx) => {
      if (await this.sessions.revoke(tx, row.sessionId, 'reuse')) {
        await this.audit.record(tx, {
          type: 'REFRESH_TOKEN_REUSE',
          userId: row.user.id,
          sessionId: row.sessionId,
          client,
        });
      }
    });
    logAuthEvent(this.logger, 'warn', client, {
      event: 'refresh_token_reuse',
      userId: row.user.id,
      sessionId: row.sessionId,
    });
    throw refused(
      'This refresh token was already used: its session is revoked, log in again',
      'REFRESH_TOKEN_REUSED',
    );
  }
}

/**
 * What identifies the client inside the grace window: its user agent (hashed,
 * as stored with the rotation). Not its IP: a browser may send two concurrent
 * requests over IPv4 and IPv6, and a phone changes networks, while a stolen
 * token replayed from another program carries another user agent.
 */
function clientFingerprint(client: ClientInfo): string | null {
  return client.userAgent ? createHash('sha256').update(client.userAgent).digest('hex') : null;
}
