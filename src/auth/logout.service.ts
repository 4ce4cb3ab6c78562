import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { OPAQUE_TOKEN } from '../common/rules.js';
import { Transactions } from '../database/transactions.js';
import type { ClientInfo } from '../graphql/client-info.decorator.js';
import { isSessionLive, SessionsRepository } from '../sessions/sessions.repository.js';
import { logAuthEvent } from './auth-log.js';
import { TokenService } from './token.service.js';

interface Target {
  sessionId: string;
  userId: string;
}

/**
 * logout: ends the session named by a LIVE refresh token, or failing that by
 * a live access token; with allSessions every session of that user. A dead
 * token (rotated, expired, of an ended session) names nothing. Idempotent:
 * when nothing names a live session it changes nothing and answers true.
 */
@Injectable()
export class LogoutService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly tokens: TokenService,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  async logout(
    args: {
      refreshToken?: string | null;
      accessToken?: string | null;
      allSessions?: boolean | null;
    },
    client: ClientInfo,
  ): Promise<boolean> {
    const target =
      (await this.byRefreshToken(args.refreshToken)) ??
      (await this.byAccessToken(args.accessToken));
    if (!target) return true;
    const all = args.allSessions === true;
    const ended = await this.transactions.run(async (tx) => {
      const n = all
        ? await this.sessions.revokeAllOfUser(target.userId, 'logout_all', undefined, tx)
        : Number(await this.sessions.revoke(tx, target.sessionId, 'logout'));
      if (n > 0) {
        await this.audit.record(tx, {
          type: all ? 'LOGOUT_ALL' : 'LOGOUT',
          userId: target.userId,
          sessionId: target.sessionId,
          client,
        });
      }
      return n;
    });
    if (ended > 0) {
      logAuthEvent(this.logger, 'log', client, {
        event: all ? 'logout_all' : 'logout',
        userId: target.userId,
        sessionId: target.sessionId,
        sessions: ended,
      });
    }
    return true;
  }

  private async byRefreshToken(token: string | null | undefined): Promise<Target | null> {
    if (!token || !OPAQUE_TOKEN.test(token)) return null;
    const row = await this.sessions.findRefreshToken(this.tokens.hashRefreshToken(token));
    const now = new Date();
    const live = row && !row.rotatedAt && row.expiresAt > now && isSessionLive(row.session, now);
    return live ? { sessionId: row.sessionId, userId: row.session.userId } : null;
  }

  private async byAccessToken(token: string | null | undefined): Promise<Target | null> {
    const claims = token ? await this.tokens.verifyAccessToken(token) : null;
    if (!claims) return null;
    const session = await this.sessions.findLiveSession(claims.sid, new Date());
    return session && session.userId === claims.sub
      ? { sessionId: session.id, userId: session.userId }
      : null;
  }
}
