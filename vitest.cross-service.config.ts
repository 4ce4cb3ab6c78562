import { defineConfig } from 'vitest/config';

// The cross-service test (test/cross-service): the built API and the notes
// service of examples/resource-service (its own dependencies, from its own
// lockfile) as real processes. `npm run test:cross-service` runs it; CI too.
export default defineConfig({
  test: {
    include: ['test/cross-service/**/*.test.ts'],
    // The API is built and the example installed once for all files (global-setup.ts).
    globalSetup: ['test/cross-service/global-setup.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
