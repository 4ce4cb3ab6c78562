import { UseGuards } from '@nestjs/common';
import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../graphql/context.js';
import { Client, type ClientInfo } from '../graphql/client-info.decorator.js';
import { User } from '../users/user.model.js';
import { AuthPayload } from './auth-payload.model.js';
import { ChangePasswordService } from './change-password.service.js';
import { CurrentUser } from './decorators/current-user.decorator.js';
import {
  ChangePasswordInput,
  LoginInput,
  LogoutInput,
  RefreshTokenInput,
  RegisterInput,
} from './dto/auth.inputs.js';
import { GqlAuthGuard } from './guards/gql-auth.guard.js';
import { GqlThrottlerGuard, LimitedAs } from './guards/gql-throttler.guard.js';
import { LoginService } from './login.service.js';
import { LogoutService } from './logout.service.js';
import type { Principal } from './principal.js';
import { RefreshService } from './refresh.service.js';
import { bearerToken, RefreshTokenTransport } from './refresh-cookie.js';
import { RegisterService } from './register.service.js';

/** Thin: reads arguments and context, calls one use case, delivers the tokens. */
@Resolver(() => AuthPayload)
export class AuthResolver {
  constructor(
    private readonly registration: RegisterService,
    private readonly logins: LoginService,
    private readonly refreshes: RefreshService,
    private readonly logouts: LogoutService,
    private readonly passwordChanges: ChangePasswordService,
    private readonly transport: RefreshTokenTransport,
  ) {}

  @Query(() => User, { description: 'The caller.' })
  @UseGuards(GqlAuthGuard)
  me(@CurrentUser() principal: Principal): User {
    return principal.user;
  }

  @Mutation(() => AuthPayload, { description: 'Creates an account and opens a session.' })
  @UseGuards(GqlThrottlerGuard)
  async register(
    @Args('input') input: RegisterInput,
    @Client() client: ClientInfo,
    @Context() ctx: GqlContext,
  ) {
    return this.transport.deliver(ctx.res, await this.registration.register(input, client));
  }

  @Mutation(() => AuthPayload, { description: 'Opens a session.' })
  @UseGuards(GqlThrottlerGuard)
  async login(
    @Args('input') input: LoginInput,
    @Client() client: ClientInfo,
    @Context() ctx: GqlContext,
  ) {
    const deviceToken = this.transport.readDevice(ctx.req, input.deviceToken);
    return this.transport.deliver(
      ctx.res,
      await this.logins.login({ ...input, deviceToken }, client),
    );
  }

  @Mutation(() => AuthPayload, {
    description: 'Rotates a refresh token: it dies and a new one is issued in the same session.',
  })
  @UseGuards(GqlThrottlerGuard)
  async refreshToken(
    @Args('input', { type: () => RefreshTokenInput, nullable: true })
    input: RefreshTokenInput | null,
    @Client() client: ClientInfo,
    @Context() ctx: GqlContext,
  ) {
    const token = this.transport.read(ctx.req, input?.refreshToken);
    return this.transport.deliver(ctx.res, await this.refreshes.refresh(token, client));
  }

  @Mutation(() => Boolean, {
    description:
      'Ends the session named by the refresh token (input or cookie), else by the Bearer token; allSessions ends them all.',
  })
  async logout(
    @Args('input', { type: () => LogoutInput, nullable: true })
    input: LogoutInput | null,
    @Client() client: ClientInfo,
    @Context() ctx: GqlContext,
  ) {
    const done = await this.logouts.logout(
      {
        refreshToken: this.transport.read(ctx.req, input?.refreshToken),
        accessToken: bearerToken(ctx.req),
        allSessions: input?.allSessions,
      },
      client,
    );
    this.transport.clear(ctx.res);
    return done;
  }

  @Mutation(() => Boolean, { description: 'Changes the password and ends every other session.' })
  @UseGuards(GqlAuthGuard, GqlThrottlerGuard)
  @LimitedAs('password-change')
  changePassword(
    @Args('input') input: ChangePasswordInput,
    @CurrentUser() principal: Principal,
    @Client() client: ClientInfo,
  ) {
    return this.passwordChanges.changePassword(principal, input, client);
  }
}
