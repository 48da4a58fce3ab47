import { defineConfig } from 'vitest/config';

// Tests that disturb shared services (restarting PostgreSQL) run alone, after the main suite.
const jsonDir = process.env.STINT_TEST_JSON;

export default defineConfig({
  test: {
    reporters: jsonDir ? ['default', ['json', { outputFile: `${jsonDir}/chaos.json` }]] : ['default'],
    include: ['test/chaos/**/*.test.ts'],
    setupFiles: ['test/setup/leaks.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 60_000,
  },
});
