import { defineConfig } from 'vitest/config';

// `npx vitest run --config test/fuzz/vitest.config.ts`: the bounded fuzz run of
// parsers.fuzz.ts (SEALBOX_FUZZ_SECONDS, default 60; SEALBOX_FUZZ_SEED to replay).
export default defineConfig({
  test: {
    name: 'fuzz',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/fuzz/**/*.fuzz.ts'],
    // one file, one worker: the time budget is the run's, not per core
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
