import type { ApolloDriverConfig } from '@nestjs/apollo';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { GRAPHQL_PATH, type GqlContext } from './context.js';
import { formatError } from './error-mapping.js';

/** Apollo Server options: the schema is built from the code-first resolvers. */
export function graphqlOptions(config: AppConfig): Omit<ApolloDriverConfig, 'driver'> {
  const production = config.isProduction;
  return {
    path: GRAPHQL_PATH,
    // Built in memory; `npm run schema:print` writes schema.gql from the same resolvers.
    autoSchemaFile: true,
    sortSchema: true,
    // No GraphiQL: outside production the Apollo Sandbox landing page is served
    // at the endpoint; in production there is no landing page at all.
    graphiql: false,
    plugins: production ? [] : [ApolloServerPluginLandingPageLocalDefault({ embed: true })],
    introspection: !production,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    autoTransformHttpErrors: false,
    formatError,
    context: (req: FastifyRequest, res: FastifyReply): GqlContext => ({ req, res }),
  };
}
