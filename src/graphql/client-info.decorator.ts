import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { FastifyRequest } from 'fastify';
import { USER_AGENT_MAX } from '../common/rules.js';
import type { GqlContext } from './context.js';

/**
 * What the transport tells the services about the call: the client (stored
 * with a new session and with every security event) and the id of the
 * request, which the services' log lines carry as `reqId`.
 */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export function clientInfoOf(req: FastifyRequest): ClientInfo {
  const ua = req.headers['user-agent'];
  return {
    ip: req.ip ?? null,
    userAgent: typeof ua === 'string' && ua ? ua.slice(0, USER_AGENT_MAX) : null,
    requestId: req.id ?? null,
  };
}

/** `@Client() client: ClientInfo`: the caller's address, user agent and request id. */
export const Client = createParamDecorator((_: unknown, context: ExecutionContext) =>
  clientInfoOf(GqlExecutionContext.create(context).getContext<GqlContext>().req),
);
