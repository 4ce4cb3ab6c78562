import { Catch, HttpException, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { GqlArgumentsHost, type GqlContextType } from '@nestjs/graphql';
import type { FastifyReply } from 'fastify';
import {
  GraphQLError,
  responsePathAsArray,
  type GraphQLFormattedError,
  type GraphQLResolveInfo,
} from 'graphql';
import { AppError, ErrorCode, withoutStack } from '../common/errors.js';
import type { GqlContext } from './context.js';

/**
 * The one place where errors become GraphQL errors (docs/api.md, "Errors").
 *
 * - ApiExceptionFilter catches everything a resolver or guard throws and
 *   turns it into a GraphQLError whose `extensions.code` is one of the
 *   contract's codes. Unknown errors (Prisma, driver, bugs) are logged here
 *   and reach the client as INTERNAL_SERVER_ERROR with a fixed message.
 * - formatError runs on every error Apollo sends (including parse and
 *   validation errors that never reach a resolver): it keeps only the code
 *   and the fields we chose, so no originalError, stack trace, SQL or driver
 *   text ever leaves the server.
 */

const INTERNAL_MESSAGE = 'Internal server error';
const logger = new Logger('Errors');

const STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_USER_INPUT,
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  409: ErrorCode.CONFLICT,
  422: ErrorCode.BAD_USER_INPUT,
  429: ErrorCode.TOO_MANY_REQUESTS,
};

/** Codes a client may see, with the message as written. Apollo's own document errors pass too. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** The extensions a client may see besides `code` (see ErrorDetails). */
const PUBLIC_EXTENSIONS = ['fields', 'retryAfter', 'limit', 'reason', 'mfaToken'] as const;

/**
 * `requestId`: the id of the request, carried by the log line of an unknown
 * error. `info`: the field the error was thrown for, when there is one.
 */
export function toGraphQLError(
  exception: unknown,
  requestId?: string,
  info?: GraphQLResolveInfo,
): GraphQLError {
  if (exception instanceof AppError) {
    const extensions: Record<string, unknown> = { code: exception.code };
    const d = exception.details;
    if (d?.fields) extensions.fields = d.fields;
    if (d?.retryAfterSeconds) extensions.retryAfter = d.retryAfterSeconds;
    if (d?.limit) extensions.limit = d.limit;
    if (d?.reason) extensions.reason = d.reason;
    if (d?.mfaToken) extensions.mfaToken = d.mfaToken;
    // Located at the field already (nodes and path), so graphql-js uses it as
    // it is rather than wrapping it in a new GraphQLError; and no stack frames
    // captured (an AppError's stack is a plain string). A GraphQLError's
    // stack is formatted as it is built, and that was most of what a refusal
    // cost (bench/profile.mjs changePassword).
    const at = info ? { nodes: info.fieldNodes, path: responsePathAsArray(info.path) } : {};
    return withoutStack(
      () => new GraphQLError(exception.message, { ...at, extensions, originalError: exception }),
    );
  }
  if (exception instanceof GraphQLError) return exception;
  if (exception instanceof HttpException) {
    const code = STATUS_CODES[exception.getStatus()];
    if (code) return new GraphQLError(httpMessage(exception, code), { extensions: { code } });
  }
  const detail =
    exception instanceof Error ? (exception.stack ?? exception.message) : String(exception);
  if (requestId) logger.error({ reqId: requestId, msg: detail });
  else logger.error(detail);
  return new GraphQLError(INTERNAL_MESSAGE, {
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  });
}

function httpMessage(e: HttpException, code: ErrorCode): string {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 'Not authenticated';
    case ErrorCode.FORBIDDEN:
      return 'Forbidden';
    case ErrorCode.TOO_MANY_REQUESTS:
      return 'Too many requests, try again later';
    default:
      return e.message;
  }
}

/**
 * A refusal by a limit (TOO_MANY_REQUESTS) also sets the standard
 * `Retry-After` header (seconds; exposed to browsers by CORS). Several
 * refusals in one document (aliases): the longest wait.
 */
function setRetryAfter(res: FastifyReply, seconds: number): void {
  const current = Number(res.getHeader('retry-after'));
  if (!(current >= seconds)) void res.header('retry-after', String(seconds));
}

@Catch()
export class ApiExceptionFilter extends BaseExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost) {
    if (host.getType<GqlContextType>() === 'graphql') {
      const gql = GqlArgumentsHost.create(host);
      const ctx = gql.getContext<Partial<GqlContext> | undefined>();
      if (exception instanceof AppError && exception.details?.retryAfterSeconds && ctx?.res) {
        setRetryAfter(ctx.res, exception.details.retryAfterSeconds);
      }
      return toGraphQLError(exception, ctx?.req?.id, gql.getInfo<GraphQLResolveInfo | undefined>());
    }
    return super.catch(exception, host);
  }
}

export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const code = String(formatted.extensions?.code ?? '');
  if (!PUBLIC_CODES.has(code) || code === ErrorCode.INTERNAL_SERVER_ERROR) {
    if (code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      // Thrown outside a resolver (a plugin, the context): not seen by the filter.
      const original = (error as { originalError?: unknown })?.originalError ?? error;
      logger.error(
        original instanceof Error ? (original.stack ?? original.message) : String(original),
      );
    }
    return {
      message: INTERNAL_MESSAGE,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  }
  const extensions: Record<string, unknown> = { code };
  for (const k of PUBLIC_EXTENSIONS) {
    if (formatted.extensions?.[k] !== undefined) extensions[k] = formatted.extensions[k];
  }
  return {
    message: formatted.message,
    locations: formatted.locations,
    path: formatted.path,
    extensions,
  };
}
