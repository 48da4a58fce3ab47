import { defineConfig } from 'vitest/config';

// With STINT_TEST_JSON=<dir>, each run also writes a JSON report there (.ci/run sums them).
const jsonDir = process.env.STINT_TEST_JSON;

export default defineConfig({
  test: {
    reporters: jsonDir ? ['default', ['json', { outputFile: `${jsonDir}/main.json` }]] : ['default'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Suites that disturb shared services run alone afterwards (vitest.chaos.config.ts).
    exclude: ['test/chaos/**', '**/node_modules/**'],
    setupFiles: ['test/setup/leaks.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
