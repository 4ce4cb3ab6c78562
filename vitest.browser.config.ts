import { defineConfig } from 'vitest/config';

// The real-browser tests (test/browser): Debian's Chromium driven by
// playwright-core against the built server and the built React example.
// `npm run test:browser` installs Chromium when missing and runs this.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    // The server and the example are built once for all files (test/browser/support.ts).
    globalSetup: ['test/browser/global-setup.ts'],
    environment: 'node',
    // The browser test fails (instead of skipping) when Chromium is missing.
    env: { BROWSER_TEST: '1' },
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 240_000,
  },
});
