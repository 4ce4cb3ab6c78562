import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AuthGuard } from '@nestjs/passport';
import { AppError, ErrorCode } from '../../common/errors.js';
import type { GqlContext } from '../../graphql/context.js';
import { bearerFromHeader } from '../refresh-cookie.js';
import { TokenService } from '../token.service.js';
import {
  accessTokenRefused,
  refusalOfHeader,
  refusalOfVerification,
} from './access-token-refusal.js';

/** A refusal whose reason only jose can tell (EdDSA: the strategy keeps none). */
class AskJose extends Error {
  constructor(readonly token: string) {
    super('access token refused');
  }
}

/**
 * Guards a resolver: the caller must present a valid access token of a live
 * session (passport's 'jwt' strategy, strategies/jwt.strategy.ts). The
 * Principal lands on the request, where @CurrentUser() reads it; so a guarded
 * resolver is `@UseGuards(GqlAuthGuard)` plus `@CurrentUser()`. The strategy
 * is found in passport's registry, so modules that use the guard need not
 * import AuthModule (nor TokenService: it is looked up, only for EdDSA
 * refusals).
 */
@Injectable()
export class GqlAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly moduleRef: ModuleRef) {
    super();
  }

  getRequest(context: ExecutionContext) {
    return GqlExecutionContext.create(context).getContext<GqlContext>().req;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return (await super.canActivate(context)) as boolean;
    } catch (e) {
      if (!(e instanceof AskJose)) throw e;
      const tokens = this.moduleRef.get(TokenService, { strict: false });
      throw accessTokenRefused(refusalOfVerification(await tokens.whyRefused(e.token)));
    }
  }

  /**
   * Any refused token is UNAUTHENTICATED with a message saying which mistake
   * it was and `reason` (access-token-refusal.ts): no token, a wrong scheme,
   * a refresh token, not a JWT, expired, not our signature or key, claims
   * not ours, session ended. Other errors (the database is down) go on as
   * they are.
   */
  handleRequest<T>(err: unknown, user: T | false, info?: unknown, context?: ExecutionContext): T {
    if (err) {
      // validate()'s refusals: a verified token that is not an access token, or whose session ended
      if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED && !err.details) {
        throw accessTokenRefused(
          err.message === 'Session has ended' ? 'SESSION_ENDED' : 'ACCESS_TOKEN_CLAIMS',
        );
      }
      throw err;
    }
    if (user) return user;
    const header = context ? this.getRequest(context).headers.authorization : undefined;
    const fromHeader = refusalOfHeader(header);
    if (fromHeader) throw accessTokenRefused(fromHeader);
    // jsonwebtoken's errors name the fault; the EdDSA path's refusal does not
    const named = info instanceof Error && info.name !== 'Error';
    const keyRefused = info instanceof Error && /no key of ours/.test(info.message);
    if (!named && !keyRefused) throw new AskJose(bearerFromHeader(header) ?? '');
    throw accessTokenRefused(refusalOfVerification(info));
  }
}
