import { defineConfig } from 'vitest/config';

// Tests that disturb shared services (restarting PostgreSQL) run alone, after the main suite.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    setupFiles: ['test/setup/leaks.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 60_000,
  },
});
