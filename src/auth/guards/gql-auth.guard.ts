import { Injectable, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AuthGuard } from '@nestjs/passport';
import type { GqlContext } from '../../graphql/context.js';
import {
  accessTokenRefused,
  refusalOfHeader,
  refusalOfVerification,
} from './access-token-refusal.js';

/** The outcome of the access-token check, kept on the request it was made for. */
const CHECKED = Symbol('accessTokenChecked');
type CheckedRequest = GqlContext['req'] & { [CHECKED]?: Promise<boolean> };

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
   * One check per HTTP request: a document with several guarded fields
   * (aliases: 30 `changePassword` or `me` in one document) verifies the token
   * and reads the session once, and every field gets that outcome (the
   * principal, or the same refusal). The next request checks again, so a
   * logout or a revocation still ends the token at the next call.
   */
  canActivate(context: ExecutionContext): Promise<boolean> {
    const req = this.getRequest(context) as CheckedRequest;
    req[CHECKED] ??= Promise.resolve(super.canActivate(context) as Promise<boolean>);
    return req[CHECKED];
  }

  /**
   * Any refused token is UNAUTHENTICATED with a message saying which mistake
   * it was and `reason` (access-token-refusal.ts): no token, a wrong scheme,
   * a refresh token, not a JWT, expired, not our signature or key, claims
   * not ours, session ended. Other errors (the database is down) go on as
   * they are.
   */
  handleRequest<T>(err: unknown, user: T | false, info?: unknown, context?: ExecutionContext): T {
    // validate()'s refusals (claims not ours, session ended) are coded already; other
    // errors (the database is down) go on as they are
    if (err) throw err;
    if (user) return user;
    const header = context ? this.getRequest(context).headers.authorization : undefined;
    const fromHeader = refusalOfHeader(header);
    if (fromHeader) throw accessTokenRefused(fromHeader);
    throw accessTokenRefused(refusalOfVerification(info));
  }
}
