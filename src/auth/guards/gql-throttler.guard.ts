import { Injectable, Logger, type ExecutionContext } from '@nestjs/common';
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
  private readonly authLogger = new Logger('Auth');

  getRequestResponse(context: ExecutionContext) {
    const ctx = GqlExecutionContext.create(context).getContext<GqlContext>();
    return { req: ctx.req, res: ctx.res };
  }

  protected async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const { req } = this.getRequestResponse(context);
    this.authLogger.warn({
      reqId: req.id,
      event: 'rate_limited',
      operation: context.getHandler().name,
      retryAfterSeconds: detail.timeToBlockExpire,
    });
    throw AppError.tooManyRequests(Math.max(1, Math.ceil(detail.timeToBlockExpire)));
  }
}
