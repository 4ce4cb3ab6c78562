import { UseGuards } from '@nestjs/common';
import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import { Roles, RolesGuard } from '../auth/guards/roles.guard.js';
import type { Principal } from '../auth/principal.js';
import { Role } from '../generated/prisma/enums.js';
import { User } from './user.model.js';
import { UsersService } from './users.service.js';

@Resolver(() => User)
@UseGuards(GqlAuthGuard)
export class UsersResolver {
  constructor(private readonly usersService: UsersService) {}

  @Query(() => User, { description: 'The caller.' })
  me(@CurrentPrincipal() principal: Principal): User {
    return principal.user;
  }

  @Query(() => [User], { description: 'All users, in pages (ADMIN only).' })
  @UseGuards(RolesGuard)
  @Roles(Role.ADMIN)
  users(
    @Args('first', { type: () => Int, defaultValue: 20, nullable: true }) first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after?: string | null,
  ) {
    return this.usersService.list(first ?? 20, after);
  }
}
