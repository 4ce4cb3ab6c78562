import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';

export const GRAPHQL_PATH = '/graphql';

/** The GraphQL context: the Fastify request and reply (cookies, throttler headers). */
export interface GqlContext {
  req: FastifyRequest & { user?: Principal };
  res: FastifyReply;
}
