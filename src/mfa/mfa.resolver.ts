import { UseGuards } from '@nestjs/common';
import { Args, Context, Mutation, Resolver } from '@nestjs/graphql';
import { AuthPayload } from '../auth/auth-payload.model.js';
import { CurrentUser } from '../auth/decorators/current-user.decorator.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import { GqlThrottlerGuard } from '../auth/guards/gql-throttler.guard.js';
import type { Principal } from '../auth/principal.js';
import { RefreshTokenTransport } from '../auth/refresh-cookie.js';
import { Client, type ClientInfo } from '../graphql/client-info.decorator.js';
import type { GqlContext } from '../graphql/context.js';
import { MfaCodeArgs, TotpCodeArgs, VerifyMfaInput } from './dto/mfa.inputs.js';
import { EnrollmentService } from './enrollment.service.js';
import { TotpEnrollment } from './totp-enrollment.model.js';
import { VerifyMfaService } from './verify-mfa.service.js';

/** The second factor (TOTP). Thin: arguments in, one service call out. */
@Resolver()
export class MfaResolver {
  constructor(
    private readonly enrollment: EnrollmentService,
    private readonly verification: VerifyMfaService,
    private readonly transport: RefreshTokenTransport,
  ) {}

  @Mutation(() => TotpEnrollment, {
    description:
      'Starts a TOTP enrolment (a new secret; a pending one is replaced). CONFLICT if a second factor is on. Nothing changes for login until confirmTotp.',
  })
  @UseGuards(GqlAuthGuard)
  enrollTotp(@CurrentUser() principal: Principal, @Client() client: ClientInfo) {
    return this.enrollment.enroll(principal, client);
  }

  @Mutation(() => [String], {
    description:
      'Turns the pending enrolment on with a current code; ends every other session. Returns the 10 recovery codes, shown only now. A wrong code is BAD_USER_INPUT (field code).',
  })
  @UseGuards(GqlAuthGuard)
  confirmTotp(
    @Args() args: TotpCodeArgs,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.enrollment.confirm(principal, args.code, client);
  }

  @Mutation(() => Boolean, {
    description:
      'Turns the second factor off; needs a current code or an unused recovery code (else UNAUTHENTICATED).',
  })
  @UseGuards(GqlAuthGuard)
  disableTotp(
    @Args() args: MfaCodeArgs,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.enrollment.disable(principal, args.code, client);
  }

  @Mutation(() => [String], {
    description:
      '10 new recovery codes (the old ones die); needs a current code or an unused recovery code (else UNAUTHENTICATED).',
  })
  @UseGuards(GqlAuthGuard)
  regenerateRecoveryCodes(
    @Args() args: MfaCodeArgs,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.enrollment.regenerate(principal, args.code, client);
  }

  @Mutation(() => AuthPayload, {
    description:
      'The second step of a login: the mfaToken of MFA_REQUIRED and a current code or an unused recovery code open the session (delivered like login’s). Limited per client IP like login.',
  })
  @UseGuards(GqlThrottlerGuard)
  async verifyMfa(
    @Args('input') input: VerifyMfaInput,
    @Client() client: ClientInfo,
    @Context() ctx: GqlContext,
  ) {
    return this.transport.deliver(ctx.res, await this.verification.verify(input, client));
  }
}
