import { Injectable, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AuthGuard } from '@nestjs/passport';
import { AppError } from '../../common/errors.js';
import type { GqlContext } from '../../graphql/context.js';

/**
 * Guards a resolver: the caller must present a valid access token of a live
 * session (passport's 'jwt' strategy, strategies/jwt.strategy.ts). The
 * Principal lands on the request, where @CurrentUser() reads it; so a guarded
 * resolver is `@UseGuards(GqlAuthGuard)` plus `@CurrentUser()`. The strategy
 * is found in passport's registry, so modules that use the guard need not
 * import AuthModule.
 */
@Injectable()
export class GqlAuthGuard extends AuthGuard('jwt') {
  getRequest(context: ExecutionContext) {
    return GqlExecutionContext.create(context).getContext<GqlContext>().req;
  }

  /**
   * A token that is missing, malformed, forged, expired, of another key or
   * algorithm: UNAUTHENTICATED with one message (the strategy's reason is not
   * shown). validate()'s own refusals (wrong type, session ended) keep their
   * message; any other error (the database is down) goes on as it is.
   */
  handleRequest<T>(err: unknown, user: T | false): T {
    if (err) throw err;
    if (!user) throw AppError.unauthenticated('Missing or invalid access token');
    return user;
  }
}
