import { Injectable, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AuthGuard } from '@nestjs/passport';
import { AppError } from '../../common/errors.js';
import type { GqlContext } from '../../graphql/context.js';

/** Guards a resolver: the caller must present a valid access token of a live session. */
@Injectable()
export class GqlAuthGuard extends AuthGuard('jwt') {
  getRequest(context: ExecutionContext) {
    return GqlExecutionContext.create(context).getContext<GqlContext>().req;
  }

  handleRequest<T>(err: unknown, principal: T): T {
    if (err instanceof AppError) throw err;
    if (err || !principal) throw AppError.unauthenticated('Missing or invalid access token');
    return principal;
  }
}
