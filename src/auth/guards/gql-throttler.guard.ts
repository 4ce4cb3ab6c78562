import { Injectable, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { AppError } from '../../common/errors.js';
import type { GqlContext } from '../../graphql/context.js';

/**
 * @nestjs/throttler on GraphQL: a guard runs once per resolver call, so every
 * alias and every operation of a batch is counted. Keyed per client IP and
 * per operation (login, register and refreshToken each have AUTH_RATE_LIMIT).
 */
@Injectable()
export class GqlThrottlerGuard extends ThrottlerGuard {
  getRequestResponse(context: ExecutionContext) {
    const ctx = GqlExecutionContext.create(context).getContext<GqlContext>();
    return { req: ctx.req, res: ctx.res };
  }

  protected async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw AppError.tooManyRequests(Math.max(1, Math.ceil(detail.timeToBlockExpire)));
  }
}
