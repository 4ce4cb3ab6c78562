import { createRequire } from 'node:module';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// SWC gives Nest's decorators their metadata (esbuild does not emit it).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    // One graphql in the tests as in the built server: Node loads graphql's
    // CommonJS build for Nest and Apollo, and vite would give the project's
    // own imports the ESM build (package.json "module"), a second copy whose
    // GraphQLError is not theirs (graphql's "dual package" warning).
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The browser test runs on its own: npm run test:browser (vitest.browser.config.ts);
    // the cross-service test too: npm run test:cross-service (vitest.cross-service.config.ts).
    exclude: ['**/node_modules/**', 'examples/**', 'test/browser/**', 'test/cross-service/**'],
    environment: 'node',
    // No server log lines in the test output unless TEST_LOGS=1.
    setupFiles: ['test/support/quiet-logs.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
