import { UseGuards } from '@nestjs/common';
import { Args, Query, Resolver } from '@nestjs/graphql';
import { PageArgs } from '../common/page.args.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import { Roles, RolesGuard } from '../auth/guards/roles.guard.js';
import { Role } from '../generated/prisma/enums.js';
import { User } from './user.model.js';
import { UsersService } from './users.service.js';

/** `me` is in AuthResolver (it authenticates the caller itself; see there). */
@Resolver(() => User)
@UseGuards(GqlAuthGuard)
export class UsersResolver {
  constructor(private readonly usersService: UsersService) {}

  @Query(() => [User], { description: 'All users, in pages (ADMIN only).' })
  @UseGuards(RolesGuard)
  @Roles(Role.ADMIN)
  users(@Args() page: PageArgs) {
    return this.usersService.list(page);
  }
}
