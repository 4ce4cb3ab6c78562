import type { ApolloDriverConfig } from '@nestjs/apollo';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { AppConfig } from '../config/app-config.js';
import { GRAPHQL_PATH, type GqlContext } from './context.js';
import { formatError } from './error-mapping.js';

/**
 * Document limits (graphql-armor): depth, aliases, directives and cost are
 * validation rules, so an over-limit document is refused with
 * GRAPHQL_VALIDATION_FAILED before any resolver runs. The token limit is
 * graphql-js's own parser option: the parser stops counting at the limit, so
 * a huge document costs little (GRAPHQL_PARSE_FAILED).
 */
function armor(config: AppConfig) {
  const env = config.env;
  // Report as a plain validation error: Apollo gives it GRAPHQL_VALIDATION_FAILED.
  const reject = {
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, error: GraphQLError) =>
        ctx?.reportError(
          new GraphQLError(error.message, {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
        ),
    ],
  };
  return new ApolloArmor({
    maxDepth: { n: env.GRAPHQL_MAX_DEPTH, flattenFragments: true, ...reject },
    maxAliases: { n: env.GRAPHQL_MAX_ALIASES, ...reject },
    maxDirectives: { n: env.GRAPHQL_MAX_DIRECTIVES, ...reject },
    costLimit: { maxCost: env.GRAPHQL_MAX_COST, ...reject },
    // graphql-js's parser limit is used instead (see parseOptions).
    maxTokens: { enabled: false },
    // Field suggestions ("Did you mean ...?") help in development only.
    blockFieldSuggestion: { enabled: config.isProduction, mask: '' },
  }).protect();
}

/** Apollo Server options: the schema is built from the code-first resolvers. */
export function graphqlOptions(config: AppConfig): Omit<ApolloDriverConfig, 'driver'> {
  const production = config.isProduction;
  const protection = armor(config);
  const landingPage: ApolloServerPlugin = production
    ? // Apollo would otherwise choose by process.env.NODE_ENV; be explicit.
      ApolloServerPluginLandingPageDisabled()
    : ApolloServerPluginLandingPageLocalDefault({ embed: true });
  return {
    path: GRAPHQL_PATH,
    // Built in memory; `npm run schema:print` writes schema.gql from the same resolvers.
    autoSchemaFile: true,
    sortSchema: true,
    // No GraphiQL: outside production the Apollo Sandbox landing page is served
    // at the endpoint; in production there is no landing page at all.
    graphiql: false,
    // (Nest's type names @apollo/server's CommonJS declarations; these are the same plugins.)
    // Cache control is on by default in Apollo Server: its willResolveField
    // hook makes Apollo wrap EVERY field resolver (schemaInstrumentation) to
    // compute a Cache-Control header nobody uses here (no @cacheControl
    // hints, POST only, answers are per-user).
    plugins: [
      landingPage,
      ApolloServerPluginCacheControlDisabled(),
      ...protection.plugins,
    ] as unknown as ApolloDriverConfig['plugins'],
    // Nest's plugin resets the HTTP status to 200 when an execution error set
    // one through extensions.http; ours never do (the filter builds every
    // GraphQLError without it), so it would only add a hook to every request.
    preserveHttpStatusForExecutionErrors: false,
    validationRules: protection.validationRules,
    parseOptions: { maxTokens: config.env.GRAPHQL_MAX_TOKENS },
    introspection: !production,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    autoTransformHttpErrors: false,
    formatError,
    context: (req: FastifyRequest, res: FastifyReply): GqlContext => {
      // GraphQL answers carry tokens (AuthPayload), second-factor secrets and
      // recovery codes, and per-user data: never stored by a browser or proxy
      // cache (RFC 6749 5.1 asks it of token responses).
      void res.header('cache-control', 'no-store');
      return { req, res };
    },
  };
}
