import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { GqlContext } from '../../graphql/context.js';

/**
 * The caller of a guarded operation: the Principal (user and session) that
 * GqlAuthGuard put on the request. `@UseGuards(GqlAuthGuard)` plus
 * `@CurrentUser() principal: Principal` is all a guarded resolver needs.
 */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    GqlExecutionContext.create(context).getContext<GqlContext>().req.user,
);
