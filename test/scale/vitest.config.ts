import { defineConfig } from 'vitest/config';

// `npm run test:scale`: issue 17's acceptance test (test/scale/*.test.ts), a
// cold start of the controller against 40,000 sealed resources on a private
// control plane. Alone on the machine: one file at a time, not part of
// `npm test`; .ci/run runs it after the Node 20 tests.
export default defineConfig({
  test: {
    name: 'scale',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/scale/**/*.test.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 60 * 60_000,
    hookTimeout: 300_000,
  },
});
