import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createTokenVerifier } from './auth.js';
import { NotesStore } from './notes.js';

export const typeDefs = `#graphql
  type Note {
    id: ID!
    text: String!
    createdAt: String!
  }

  type Query {
    "The caller's user id in the auth API (the access token's sub)."
    whoami: ID!
    "The caller's notes, oldest first."
    notes: [Note!]!
  }

  type Mutation {
    addNote(text: String!): Note!
    "true when the caller had a note with this id; false for any other id (another user's included)."
    deleteNote(id: ID!): Boolean!
  }
`;

export function resolvers(store) {
  return {
    Query: {
      whoami: (_p, _a, ctx) => ctx.user.sub,
      notes: (_p, _a, ctx) => store.list(ctx.user.sub),
    },
    Mutation: {
      addNote: (_p, { text }, ctx) => store.add(ctx.user.sub, text),
      deleteNote: (_p, { id }, ctx) => store.remove(ctx.user.sub, id),
    },
  };
}

/**
 * The notes API on Apollo Server's standalone HTTP server. Every request
 * needs a valid access token of the auth API: the context function verifies
 * it (a refusal fails the whole request with UNAUTHENTICATED and HTTP 401)
 * and the resolvers see only `ctx.user.sub`.
 */
export async function startNotesService(config) {
  const verify = createTokenVerifier(config.auth);
  const server = new ApolloServer({
    typeDefs,
    resolvers: resolvers(new NotesStore()),
    // An authentication error says what it is; no stack trace in any mode.
    includeStacktraceInErrorResponses: false,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: config.port, host: config.host },
    context: async ({ req }) => ({ user: await verify(req.headers.authorization) }),
  });
  return { url, stop: () => server.stop() };
}
