import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * GraphQL Code Generator: typed documents (TypedDocumentNode) for every
 * operation of docs/operations.graphql, typed against schema.gql.
 *
 * The same file is written twice: for the contract tests and for the React
 * Apollo example (both import the documents and get typed data/variables).
 * CODEGEN_OUT_DIR (default: this folder) lets `npm run schema:check`
 * regenerate into a temporary folder and compare with the committed files.
 */
const outDir = (process.env.CODEGEN_OUT_DIR ?? '.').replace(/\/+$/, '');

const plugins = ['typescript-operations', 'typed-document-node'];

const pluginConfig = {
  scalars: { DateTime: 'string' },
  enumsAsTypes: true,
  useTypeImports: true,
  avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
  nonOptionalTypename: false,
  skipTypename: true,
  dedupeFragments: true,
};

const config: CodegenConfig = {
  overwrite: true,
  silent: true,
  schema: 'schema.gql',
  documents: ['docs/operations.graphql'],
  generates: {
    [`${outDir}/test/generated/graphql.ts`]: { plugins, config: pluginConfig },
    [`${outDir}/examples/react-apollo/src/generated/graphql.ts`]: { plugins, config: pluginConfig },
  },
};

export default config;
