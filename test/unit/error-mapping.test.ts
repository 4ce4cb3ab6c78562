import { HttpException, Logger } from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../src/common/errors.js';
import { formatError, toGraphQLError } from '../../src/graphql/error-mapping.js';

/** A Prisma error as the client throws it: a driver message with SQL in it. */
function prismaLikeError() {
  const e = new Error(
    'Invalid `prisma.user.create()` invocation:\n\nRaw query failed. Code: `42P01`. Message: `relation "users" does not exist` SELECT "public"."users"."password_hash" FROM "public"."users"',
  ) as Error & { code: string; clientVersion: string };
  e.name = 'PrismaClientKnownRequestError';
  e.code = 'P2010';
  e.clientVersion = '7.10.0';
  return e;
}

describe('toGraphQLError', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('an AppError keeps its code, message, fields and retryAfter', () => {
    const bad = toGraphQLError(AppError.badInput([{ field: 'email', message: 'nope' }]));
    expect(bad.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'email', message: 'nope' }],
    });
    expect(bad.message).toContain('email');
    const slow = toGraphQLError(AppError.tooManyRequests(42));
    expect(slow.extensions).toEqual({ code: 'TOO_MANY_REQUESTS', retryAfter: 42 });
  });

  it('a Prisma-like error becomes INTERNAL_SERVER_ERROR with a fixed message and nothing else', () => {
    const g = toGraphQLError(prismaLikeError());
    expect(g.message).toBe('Internal server error');
    expect(g.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(JSON.stringify(g)).not.toMatch(/users|SELECT|P2010|prisma/i);
  });

  it('any other thrown value is INTERNAL_SERVER_ERROR too', () => {
    for (const e of [new TypeError('x is undefined'), 'a string', { weird: true }, undefined]) {
      const g = toGraphQLError(e);
      expect(g.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(g.message).toBe('Internal server error');
    }
  });

  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [429, 'TOO_MANY_REQUESTS'],
    [409, 'CONFLICT'],
    [422, 'BAD_USER_INPUT'],
  ])('an HttpException %i becomes %s', (status, code) => {
    expect(toGraphQLError(new HttpException('whatever', status)).extensions.code).toBe(code);
  });

  it('an HttpException 500 is INTERNAL_SERVER_ERROR with the fixed message', () => {
    const g = toGraphQLError(new HttpException('db password is hunter2', 500));
    expect(g.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(g.message).toBe('Internal server error');
  });
});

describe('formatError', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('keeps only code, fields and retryAfter of a contract error', () => {
    const out = formatError(
      {
        message: 'Invalid input. email: nope',
        path: ['register'],
        extensions: {
          code: 'BAD_USER_INPUT',
          fields: [{ field: 'email', message: 'nope' }],
          stacktrace: ['Error: at AuthService.register (/src/auth/auth.service.ts:1:1)'],
          originalError: { message: 'x', statusCode: 422 },
        },
      },
      new GraphQLError('x'),
    );
    expect(out.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'email', message: 'nope' }],
    });
    expect(out.path).toEqual(['register']);
  });

  it('an unknown code, or an error without one, becomes INTERNAL_SERVER_ERROR with a fixed message', () => {
    for (const extensions of [{ code: 'P2002' }, {}, { code: 'SOMETHING_ELSE', sql: 'SELECT 1' }]) {
      const out = formatError(
        { message: 'duplicate key value violates unique constraint "users_email_key"', extensions },
        prismaLikeError(),
      );
      expect(out.message).toBe('Internal server error');
      expect(out.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    }
  });

  it('an INTERNAL_SERVER_ERROR never carries its original message', () => {
    const out = formatError(
      {
        message: 'connect ECONNREFUSED 127.0.0.1:5432',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
      new Error('connect ECONNREFUSED 127.0.0.1:5432'),
    );
    expect(out.message).toBe('Internal server error');
    expect(out.extensions).toEqual({ code: ErrorCode.INTERNAL_SERVER_ERROR });
  });

  it("Apollo's own document errors pass with their code", () => {
    const out = formatError(
      {
        message: 'Cannot query field "x" on type "Query".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
      new GraphQLError('x'),
    );
    expect(out.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(out.message).toContain('Cannot query field');
  });
});
