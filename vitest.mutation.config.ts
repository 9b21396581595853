import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against each mutant (`npm run test:mutation`): the libs' and the turn
 * runner's own tests (unit, fixture, fuzz, and the ones against a real Redis and the scripted
 * backend), not the multi-process end-to-end suites, which take minutes per run.
 */
export default defineConfig({
  test: {
    include: ['libs/**/*.test.ts', 'apps/gateway/src/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
