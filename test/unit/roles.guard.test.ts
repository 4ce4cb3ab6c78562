import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { Roles, RolesGuard } from '../../src/auth/guards/roles.guard.js';
import { AppError, ErrorCode } from '../../src/common/errors.js';
import { Role } from '../../src/generated/prisma/enums.js';

class Resolver {
  @Roles(Role.ADMIN)
  adminOnly() {}

  open() {}
}

/** A GraphQL execution context: args are [root, args, context, info]. */
function gqlContext(handler: () => void, user?: { role: Role }) {
  const host = new ExecutionContextHost(
    [undefined, {}, { req: { user: user ? { user, sessionId: 's' } : undefined } }, {}],
    Resolver,
    handler,
  );
  host.setType('graphql');
  return host;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).code;
  }
}

describe('RolesGuard', () => {
  const guard = new RolesGuard(new Reflector());
  const proto = Resolver.prototype;

  it('lets an ADMIN call an ADMIN-only resolver', () => {
    expect(guard.canActivate(gqlContext(proto.adminOnly, { role: Role.ADMIN }))).toBe(true);
  });

  it('refuses a USER with FORBIDDEN', () => {
    expect(codeOf(() => guard.canActivate(gqlContext(proto.adminOnly, { role: Role.USER })))).toBe(
      ErrorCode.FORBIDDEN,
    );
  });

  it('refuses a caller without a principal with UNAUTHENTICATED', () => {
    expect(codeOf(() => guard.canActivate(gqlContext(proto.adminOnly)))).toBe(
      ErrorCode.UNAUTHENTICATED,
    );
  });

  it('lets anyone through a resolver without @Roles', () => {
    expect(guard.canActivate(gqlContext(proto.open, { role: Role.USER }))).toBe(true);
    expect(guard.canActivate(gqlContext(proto.open))).toBe(true);
  });
});
