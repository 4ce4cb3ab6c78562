import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AppError } from '../../common/errors.js';
import type { Role } from '../../generated/prisma/enums.js';
import type { GqlContext } from '../../graphql/context.js';

const ROLES_KEY = 'roles';

/** The roles allowed to call a resolver (checked after GqlAuthGuard). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const principal = GqlExecutionContext.create(context).getContext<GqlContext>().req.user;
    if (!principal) throw AppError.unauthenticated();
    if (!roles.includes(principal.user.role))
      throw AppError.forbidden('This requires the ADMIN role');
    return true;
  }
}
