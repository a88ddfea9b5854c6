import { defineConfig } from 'vitest/config';

// End-to-end tests drive Debian's Chromium against the built app; one file at a time keeps the 2-core machine calm.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120000,
    hookTimeout: 60000,
    fileParallelism: false,
  },
});
