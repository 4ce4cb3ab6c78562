import { UseGuards } from '@nestjs/common';
import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../auth/decorators/current-user.decorator.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import { Roles, RolesGuard } from '../auth/guards/roles.guard.js';
import type { Principal } from '../auth/principal.js';
import { PageArgs } from '../common/page.args.js';
import { Role } from '../generated/prisma/enums.js';
import { AuditEventsArgs } from './audit.args.js';
import { AuditService } from './audit.service.js';
import { SecurityEvent } from './security-event.model.js';

@Resolver(() => SecurityEvent)
@UseGuards(GqlAuthGuard)
export class AuditResolver {
  constructor(private readonly auditService: AuditService) {}

  @Query(() => [SecurityEvent], {
    description: "The caller's own security log, newest first, in pages (`after`: the last id).",
  })
  securityEvents(@Args() page: PageArgs, @CurrentUser() principal: Principal) {
    return this.auditService.own(principal, page);
  }

  @Query(() => [SecurityEvent], {
    description:
      "Everyone's security log, newest first, in pages; filter by user and/or type (ADMIN only).",
  })
  @UseGuards(RolesGuard)
  @Roles(Role.ADMIN)
  auditEvents(@Args() args: AuditEventsArgs) {
    return this.auditService.all(args);
  }
}
