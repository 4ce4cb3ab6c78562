/**
 * GraphQL Code Generator config for a project outside this repository that
 * calls auth-api: typed documents (TypedDocumentNode) for the operations it
 * uses, which Apollo Client, urql and graphql-request accept as they are.
 *
 *   npm install -D @graphql-codegen/cli @graphql-codegen/typescript-operations \
 *     @graphql-codegen/typed-document-node @graphql-typed-document-node/core
 *   npx graphql-codegen --config codegen.ts
 *
 * `npm test` in auth-api generates with this file and type-checks the result
 * (test/contract/client-documents.test.ts).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // auth-api's schema: a copy of its schema.gql, or a server running outside
  // production (introspection is off in production).
  schema: 'http://localhost:3000/graphql',
  // The operations you use, each file copied from auth-api's docs/operations/
  // (one operation per file, with exactly the fragments it needs).
  documents: 'src/auth-api/*.graphql',
  generates: {
    'src/auth-api/generated.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        // DateTime is an ISO-8601 string on the wire (`new Date(value)` to
        // get a Date); without this mapping it becomes `unknown`.
        scalars: { DateTime: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
      },
    },
  },
};

export default config;
