import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { GqlContext } from '../../graphql/context.js';
import { JwtStrategy } from '../strategies/jwt.strategy.js';

/** Guards a resolver: the caller must present a valid access token of a live session. */
@Injectable()
export class GqlAuthGuard implements CanActivate {
  private strategy?: JwtStrategy;

  // ModuleRef, not JwtStrategy itself: the guard is used in modules that do
  // not import AuthModule (as passport's global registry allowed before).
  constructor(private readonly moduleRef: ModuleRef) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = GqlExecutionContext.create(context).getContext<GqlContext>().req;
    this.strategy ??= this.moduleRef.get(JwtStrategy, { strict: false });
    req.user = await this.strategy.authenticate(req.headers.authorization);
    return true;
  }
}
