import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
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
