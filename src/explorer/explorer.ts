import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { GRAPHQL_PATH } from '../graphql/context.js';
import { EXPLORER_PATH } from '../startup.js';

/**
 * A GraphQL explorer that needs no internet: GraphiQL served by this server
 * from npm packages (graphiql, react, react-dom: their prebuilt browser
 * files), outside production only. Apollo Sandbox, the landing page at the
 * endpoint, loads its code from Apollo's CDN and shows nothing offline.
 *
 * GET /graphiql is the page; GET /graphiql/assets/<name> serves only the
 * files listed in ASSETS (no path from the request reaches the file system).
 * The packages are development dependencies: where they are not installed
 * (`npm ci --omit=dev`), the page says so.
 */
const ASSETS: Record<string, { pkg: string; file: string; type: string }> = {
  'react.production.min.js': {
    pkg: 'react',
    file: 'umd/react.production.min.js',
    type: 'text/javascript; charset=utf-8',
  },
  'react-dom.production.min.js': {
    pkg: 'react-dom',
    file: 'umd/react-dom.production.min.js',
    type: 'text/javascript; charset=utf-8',
  },
  'graphiql.min.js': {
    pkg: 'graphiql',
    file: 'graphiql.min.js',
    type: 'text/javascript; charset=utf-8',
  },
  'graphiql.min.css': {
    pkg: 'graphiql',
    file: 'graphiql.min.css',
    type: 'text/css; charset=utf-8',
  },
};

const DEFAULT_QUERY = `# auth-api, explored offline: GraphiQL served by this server.
# The book icon (top left) lists every operation; docs/api.md explains them.
#
# 1. Run Register (the play button, then pick Register) with the variables below.
# 2. Copy data.register.accessToken. Under Headers (below) write
#    { "Authorization": "Bearer <the token>" }
# 3. Run Me.

mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken
    refreshToken
    user {
      id
      email
    }
  }
}

query Me {
  me {
    id
    email
    name
    role
    emailVerified
  }
}
`;

const DEFAULT_VARIABLES = JSON.stringify(
  { input: { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' } },
  null,
  2,
);

/** Our own script: mounts GraphiQL on the endpoint (same origin, so cookies go along). */
const BOOT_SCRIPT = `(function () {
  var fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(GRAPHQL_PATH)} });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
      variables: ${JSON.stringify(DEFAULT_VARIABLES)},
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    }),
  );
})();
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>auth-api · GraphiQL</title>
    <link rel="stylesheet" href="${EXPLORER_PATH}/assets/graphiql.min.css" />
    <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="${EXPLORER_PATH}/assets/react.production.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/react-dom.production.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/graphiql.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/boot.js"></script>
  </body>
</html>
`;

const MISSING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>auth-api · explorer not installed</title></head>
<body><p>The offline explorer needs the development dependencies <code>graphiql</code>,
<code>react</code> and <code>react-dom</code>: run <code>npm install</code> (or <code>npm ci</code>
without <code>--omit=dev</code>) in the repository, then restart the server.
Apollo Sandbox at <a href="${GRAPHQL_PATH}">${GRAPHQL_PATH}</a> works when the browser reaches the internet.</p></body></html>
`;

/** The files of ASSETS, read once; undefined when a package is not installed. */
function loadAssets(): Map<string, { body: Buffer; type: string }> | undefined {
  const require = createRequire(import.meta.url);
  const out = new Map<string, { body: Buffer; type: string }>();
  try {
    for (const [name, a] of Object.entries(ASSETS)) {
      const dir = dirname(require.resolve(`${a.pkg}/package.json`));
      out.set(name, { body: readFileSync(join(dir, a.file)), type: a.type });
    }
  } catch {
    return undefined;
  }
  out.set('boot.js', { body: Buffer.from(BOOT_SCRIPT), type: 'text/javascript; charset=utf-8' });
  return out;
}

/** Whether the explorer's packages are installed (without reading them). */
export function explorerInstalled(): boolean {
  const require = createRequire(import.meta.url);
  try {
    return Object.values(ASSETS).every((a) =>
      existsSync(join(dirname(require.resolve(`${a.pkg}/package.json`)), a.file)),
    );
  } catch {
    return false;
  }
}

/** GET /graphiql and its assets (call outside production only). */
export function registerExplorer(fastify: FastifyInstance): void {
  let assets: ReturnType<typeof loadAssets> | null = null;
  const get = () => (assets === null ? (assets = loadAssets()) : assets);
  fastify.get(EXPLORER_PATH, (_request, reply) => {
    const ok = get() !== undefined;
    void reply
      .code(ok ? 200 : 503)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache');
    return ok ? PAGE : MISSING_PAGE;
  });
  fastify.get<{ Params: { name: string } }>(`${EXPLORER_PATH}/assets/:name`, (request, reply) => {
    const asset = get()?.get(request.params.name);
    if (!asset) {
      void reply.code(404).header('content-type', 'text/plain; charset=utf-8');
      return 'Not found';
    }
    void reply
      .header('content-type', asset.type)
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff');
    return asset.body;
  });
}
