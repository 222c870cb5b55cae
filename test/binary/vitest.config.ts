import { defineConfig } from 'vitest/config';

// `npm run test:binary`: builds the single executable (npm run build:binary,
// ~20 s), then runs test/binary/*.test.ts against it. Not part of `npm test`
// (which builds only the bundle); .ci/run calls it on its own.
export default defineConfig({
  test: {
    name: 'binary',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/binary/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
