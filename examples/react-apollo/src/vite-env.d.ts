/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Where the GraphQL endpoint is, default `/graphql` on the page's own origin (proxied by Vite). */
  readonly VITE_GRAPHQL_URL?: string;
  readonly VITE_EXPOSE_CLIENT?: string;
}
