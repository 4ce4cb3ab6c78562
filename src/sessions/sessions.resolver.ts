import { UseGuards } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../auth/decorators/current-user.decorator.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { Client, type ClientInfo } from '../graphql/client-info.decorator.js';
import { Session } from './session.model.js';
import { SessionsService } from './sessions.service.js';

@Resolver(() => Session)
@UseGuards(GqlAuthGuard)
export class SessionsResolver {
  constructor(private readonly sessionsService: SessionsService) {}

  @Query(() => [Session], { description: "The caller's live sessions." })
  sessions(@CurrentUser() principal: Principal) {
    return this.sessionsService.list(principal);
  }

  @Mutation(() => Boolean, {
    description: "Revokes one of the caller's own sessions; false for any other id.",
  })
  revokeSession(
    @Args('id', { type: () => ID }) id: string,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.sessionsService.revoke(principal, id, client);
  }
}
