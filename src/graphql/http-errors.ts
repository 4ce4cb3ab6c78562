import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GRAPHQL_PATH } from './context.js';

/**
 * Requests refused by the HTTP layer before Apollo sees them (a body over
 * BODY_LIMIT: 413, malformed JSON: 400, an unsupported content type: 415) get
 * Nest's `{statusCode, message}` body. At the GraphQL endpoint they get the
 * GraphQL shape instead, so clients handle them like any other error:
 * `{"errors":[{"message":…,"extensions":{"code":"BAD_REQUEST"}}]}`, same status.
 * Where a newcomer's first request goes wrong (a bare GET, no or the wrong
 * Content-Type, Apollo's CSRF refusal), the message says what to send.
 */
export function registerGraphqlHttpErrors(
  fastify: FastifyInstance,
  { landingPage }: { landingPage: boolean },
): void {
  // A GET without a query (`curl localhost:3000/graphql`): what to send
  // instead. Nothing is executed, so CSRF prevention loses nothing. Where
  // there is a landing page (outside production), a browser asking for a page
  // (Accept: text/html) still gets it.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (
      request.method === 'GET' &&
      isBareGraphqlGet(request.raw.url ?? '', request.headers, landingPage)
    ) {
      void reply
        .code(400)
        .header('content-type', 'application/json; charset=utf-8')
        .send(errorBody(howToCall(request.headers.host, landingPage), 'BAD_REQUEST'));
      return;
    }
    done();
  });
  // A callback hook, not an async one: it runs on every reply, and for all
  // but a few it only hands the payload on.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const body = graphqlShaped(request, reply, payload, landingPage);
    if (reply.statusCode < 400 || request.raw.complete) return done(null, body);
    drainRequest(request.raw, (whole) => {
      // All of it read: the connection can stay open like any other.
      if (whole) reply.removeHeader('connection');
      done(null, body);
    });
  });
}

/** The most of a refused body read and thrown away so that the client gets the answer. */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/**
 * A request refused before its body was read (over BODY_LIMIT: 413; a
 * content type we do not parse: 415): Fastify answers and closes the
 * connection, and closing a socket with unread data makes the kernel send a
 * reset, which the client, still sending, sees instead of the answer
 * (EPIPE/ECONNRESET). So the rest of the body is read and discarded first,
 * up to DRAIN_MAX_BYTES or DRAIN_MAX_MS; past that the connection is closed
 * anyway (a client sending more than that cannot expect an answer).
 */
function drainRequest(raw: IncomingMessage, then: (whole: boolean) => void): void {
  let bytes = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    raw.off('data', onData);
    raw.off('end', finish);
    raw.off('close', finish);
    raw.off('error', finish);
    raw.pause();
    then(raw.complete);
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > DRAIN_MAX_BYTES) finish();
  };
  const timer = setTimeout(finish, DRAIN_MAX_MS);
  raw.on('data', onData);
  raw.once('end', finish);
  raw.once('close', finish);
  raw.once('error', finish);
  raw.resume();
}

/** The GraphQL path with no `query` (nor persisted-query `extensions`) parameter, not asked for as a page. */
function isBareGraphqlGet(
  url: string,
  headers: FastifyRequest['headers'],
  landingPage: boolean,
): boolean {
  const q = url.indexOf('?');
  if ((q === -1 ? url : url.slice(0, q)) !== GRAPHQL_PATH) return false;
  if (q !== -1) {
    const params = new URLSearchParams(url.slice(q + 1));
    if (params.has('query') || params.has('extensions')) return false;
  }
  return !(landingPage && (headers.accept ?? '').includes('text/html'));
}

function errorBody(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

const JSON_BODY = `{"query": "{ __typename }"}`;

/** What a GraphQL request looks like, with this server's address. */
function howToCall(host: string | undefined, landingPage: boolean): string {
  const url = `http://${host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : 'localhost:3000'}${GRAPHQL_PATH}`;
  return (
    `This is the GraphQL endpoint: send a POST with the header Content-Type: application/json and a JSON body such as ${JSON_BODY} ` +
    `(for example: curl ${url} -H 'content-type: application/json' -d '${JSON_BODY}').` +
    (landingPage
      ? ` Opened in a browser, this URL shows Apollo Sandbox; /graphiql is an explorer that works offline.`
      : '')
  );
}

const CSRF_PREFIX = 'This operation has been blocked as a potential Cross-Site Request Forgery';

function graphqlShaped(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  landingPage: boolean,
): unknown {
  const status = reply.statusCode;
  if (status < 400 || status >= 500 || typeof payload !== 'string') return payload;
  const url = request.url;
  const path = url.split('?')[0];
  if (path !== GRAPHQL_PATH) return payload;
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (!body || typeof body !== 'object') return payload;
  if ('errors' in body) {
    // Apollo's CSRF refusal: kept, with what to send instead.
    const errors = (body as { errors?: { message?: unknown }[] }).errors;
    const first = Array.isArray(errors) ? errors[0] : undefined;
    if (
      status === 400 &&
      typeof first?.message === 'string' &&
      first.message.startsWith(CSRF_PREFIX)
    ) {
      const what =
        request.method === 'GET'
          ? 'a GET'
          : `a POST with ${request.headers['content-type'] ? `Content-Type ${describeType(request)}` : 'no Content-Type'}`;
      return errorBody(
        `Refused as a possible cross-site request forgery: ${what} is what a page on another site can make a browser send, so it must carry the header apollo-require-preflight: true (or x-apollo-operation-name). ` +
          `Most clients send a POST with Content-Type: application/json, which needs neither. ${howToCall(request.headers.host, landingPage)}`,
        'BAD_REQUEST',
      );
    }
    return payload;
  }
  if (!('statusCode' in body)) return payload;
  const given = (body as { message?: unknown }).message;
  let message = typeof given === 'string' ? given : 'Bad request';
  if (status === 415) {
    message = `Unsupported Media Type: this server reads GraphQL requests as JSON, and this request has ${
      request.headers['content-type'] ? `Content-Type ${describeType(request)}` : 'no Content-Type'
    }. ${howToCall(request.headers.host, landingPage)}`;
  }
  reply.header('content-type', 'application/json; charset=utf-8');
  return errorBody(message, 'BAD_REQUEST');
}

/** The request's media type, without parameters, made safe to quote. */
function describeType(request: FastifyRequest): string {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().slice(0, 100);
  return /^[\w.+/-]+$/.test(type) ? type : '(unreadable)';
}
