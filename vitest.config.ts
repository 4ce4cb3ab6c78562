import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC gives Nest's decorators their metadata (esbuild does not emit it).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
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
