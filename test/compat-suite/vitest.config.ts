import { defineConfig } from 'vitest/config';

// `npm run test:compat-suite`: Sealed Secrets' own integration suite against
// sealbox's compatibility mode (issue 16 §3), on a control plane of its own
// (the suite's controller lives in kube-system, as kubeseal expects).
export default defineConfig({
  test: {
    name: 'compat-suite',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/compat-suite/**/*.test.ts'],
    globalSetup: ['test/cluster/global-setup.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 1_200_000,
  },
});
