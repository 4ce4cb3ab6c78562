import type { FastifyInstance, FastifyReply } from 'fastify';
import { GRAPHQL_PATH } from './context.js';

/**
 * Requests refused by the HTTP layer before Apollo sees them (a body over
 * BODY_LIMIT: 413, malformed JSON: 400, an unsupported content type: 415) get
 * Nest's `{statusCode, message}` body. At the GraphQL endpoint they get the
 * GraphQL shape instead, so clients handle them like any other error:
 * `{"errors":[{"message":…,"extensions":{"code":"BAD_REQUEST"}}]}`, same status.
 */
export function registerGraphqlHttpErrors(fastify: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every reply, and for all
  // but a few it only hands the payload on.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    done(null, graphqlShaped(request.url, reply, payload));
  });
}

function graphqlShaped(url: string, reply: FastifyReply, payload: unknown): unknown {
  const status = reply.statusCode;
  if (status < 400 || status >= 500 || typeof payload !== 'string') return payload;
  const path = url.split('?')[0];
  if (path !== GRAPHQL_PATH) return payload;
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (!body || typeof body !== 'object' || 'errors' in body || !('statusCode' in body)) {
    return payload;
  }
  const given = (body as { message?: unknown }).message;
  const message = typeof given === 'string' ? given : 'Bad request';
  reply.header('content-type', 'application/json; charset=utf-8');
  return JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
}
