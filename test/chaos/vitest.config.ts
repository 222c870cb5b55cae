import { defineConfig } from 'vitest/config';

// `npx vitest run --config test/chaos/vitest.config.ts`: the fault tests
// (test/chaos/chaos-*.test.ts) one file at a time. They start private
// control planes and reconcile 1,000 resources, so they do not share the
// machine with other integration files. SEALBOX_CHAOS_RESOURCES sets the fleet
// size (default 1000).
export default defineConfig({
  test: {
    name: 'chaos',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/cluster/global-setup.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
