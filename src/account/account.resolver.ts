import { UseGuards } from '@nestjs/common';
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../auth/decorators/current-user.decorator.js';
import { GqlAuthGuard } from '../auth/guards/gql-auth.guard.js';
import { GqlThrottlerGuard } from '../auth/guards/gql-throttler.guard.js';
import type { Principal } from '../auth/principal.js';
import { Client, type ClientInfo } from '../graphql/client-info.decorator.js';
import {
  RequestPasswordResetArgs,
  ResetPasswordInput,
  VerifyEmailArgs,
} from './dto/account.inputs.js';
import { PasswordResetService } from './password-reset.service.js';
import { VerificationService } from './verification.service.js';

/** Email verification and password reset. Thin: arguments in, one service call out. */
@Resolver()
export class AccountResolver {
  constructor(
    private readonly verification: VerificationService,
    private readonly reset: PasswordResetService,
  ) {}

  @Mutation(() => Boolean, {
    description:
      'Mails the caller a new verification link (true; nothing is sent to a verified address, nor more than one mail a minute).',
  })
  @UseGuards(GqlAuthGuard)
  sendVerificationEmail(@CurrentUser() principal: Principal, @Client() client: ClientInfo) {
    return this.verification.resend(principal.user, client);
  }

  @Mutation(() => Boolean, {
    description:
      'Marks the address of the link verified. An unknown, expired or used token is BAD_USER_INPUT (field token).',
  })
  @UseGuards(GqlThrottlerGuard)
  verifyEmail(@Args() args: VerifyEmailArgs, @Client() client: ClientInfo) {
    return this.verification.verify(args.token, client);
  }

  @Mutation(() => Boolean, {
    description:
      'Mails a reset link if the address has an account; true either way, in the same time. Limited per client IP like login.',
  })
  @UseGuards(GqlThrottlerGuard)
  requestPasswordReset(@Args() args: RequestPasswordResetArgs, @Client() client: ClientInfo) {
    return this.reset.request(args.email, client);
  }

  @Mutation(() => Boolean, {
    description:
      'Sets a new password with the token of a reset link and ends every session of the account. Does not log in.',
  })
  @UseGuards(GqlThrottlerGuard)
  resetPassword(@Args('input') input: ResetPasswordInput, @Client() client: ClientInfo) {
    return this.reset.reset(input, client);
  }
}
