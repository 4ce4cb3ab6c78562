import { UseGuards } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../auth/decorators/current-user.decorator.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import { Roles, RolesGuard } from '../auth/guards/roles.guard.js';
import type { Principal } from '../auth/principal.js';
import { Role } from '../generated/prisma/enums.js';
import { Client, type ClientInfo } from '../graphql/client-info.decorator.js';
import { User } from '../users/user.model.js';
import { SetUserDisabledArgs, SetUserRoleArgs, UserByEmailArgs } from './admin.args.js';
import { AdminService } from './admin.service.js';

/** The admin controls: ADMIN only, every one. */
@Resolver(() => User)
@UseGuards(GqlAuthGuard, RolesGuard)
@Roles(Role.ADMIN)
export class AdminResolver {
  constructor(private readonly adminService: AdminService) {}

  @Query(() => User, {
    nullable: true,
    description:
      'The user with this email, or null (ADMIN only): the id that setUserRole and setUserDisabled take.',
  })
  userByEmail(@Args() args: UserByEmailArgs) {
    return this.adminService.findByEmail(args.email);
  }

  @Mutation(() => User, {
    description:
      "Changes a user's role (ADMIN only; not your own to USER). An unknown userId is BAD_USER_INPUT.",
  })
  setUserRole(
    @Args() args: SetUserRoleArgs,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.adminService.setRole(principal, args, client);
  }

  @Mutation(() => User, {
    description:
      'Disables an account (every session ends at once; no login, refresh or second factor until enabled again) or enables it (ADMIN only; not yourself). An unknown userId is BAD_USER_INPUT.',
  })
  setUserDisabled(
    @Args() args: SetUserDisabledArgs,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.adminService.setDisabled(principal, args, client);
  }
}
