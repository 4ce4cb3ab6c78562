import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type ContextFunction = (req: FastifyRequest, res: FastifyReply) => Promise<BaseContext>;

/** Node's headers (already lower-case) as Apollo's HeaderMap; repeated ones joined. */
function headerMap(headers: IncomingHttpHeaders): HeaderMap {
  const map = new HeaderMap();
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined) map.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}

/**
 * The GraphQL route's handler: @as-integrations/fastify's handler, less its
 * per-request `new URL(request.url, protocol://hostname)` (a WHATWG URL
 * parse, and Fastify's hostname and protocol getters, to read the query
 * string, ~2 % of `me`'s CPU in bench/profile.mjs). The query string is the
 * part of the raw URL from `?`, which is what URLSearchParams (Apollo's GET
 * parsing) reads.
 */
export function apolloHandler(server: ApolloServer<BaseContext>, context: ContextFunction) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.raw.url ?? '';
    const q = url.indexOf('?');
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: request.method,
        headers: headerMap(request.headers),
        search: q === -1 ? '' : url.slice(q),
        body: request.body,
      },
      context: () => context(request, reply),
    });
    for (const [key, value] of response.headers) void reply.header(key, value);
    void reply.code(response.status ?? 200);
    if (response.body.kind === 'complete') return response.body.string;
    return reply.send(Readable.from(response.body.asyncIterator));
  };
}

/**
 * Nest's ApolloDriver, registering the route on Fastify with the handler
 * above. Everything else (schema, options, plugins, the drain plugin that
 * lets requests in flight finish at shutdown) is as in
 * ApolloBaseDriver.registerFastify of @nestjs/apollo 14.
 */
@Injectable()
export class FastifyApolloDriver extends ApolloDriver {
  protected override async registerFastify(
    options: ApolloDriverConfig,
    { preStartHook }: { preStartHook?: () => void } = {},
  ): Promise<void> {
    const app = this.httpAdapterHost.httpAdapter.getInstance<FastifyInstance>();
    preStartHook?.();
    const server = new ApolloServer<BaseContext>({
      ...(options as unknown as ConstructorParameters<typeof ApolloServer<BaseContext>>[0]),
      plugins: [...(options.plugins ?? []), fastifyApolloDrainPlugin(app)],
    } as ConstructorParameters<typeof ApolloServer<BaseContext>>[0]);
    await server.start();
    app.route({
      url: options.path ?? '/graphql',
      method: ['GET', 'POST', 'OPTIONS'],
      handler: apolloHandler(server, options.context as ContextFunction),
    });
    this.apolloServer = server;
  }
}
