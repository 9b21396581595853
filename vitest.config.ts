import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/**/*.test.ts', 'apps/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/bench/**', 'test/soak/**'],
    // The default output, then one plain `Tests: N passed, N failed` line for CI.
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    // End-to-end tests start processes (gateway replicas, redis-server, the codex CLI).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The machine has 2 cores; multi-process cluster tests must not starve each other.
    maxWorkers: 2,
  },
});
