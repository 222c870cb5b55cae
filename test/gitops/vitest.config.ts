import { defineConfig } from 'vitest/config';

// `npm run test:gitops`: the GitOps loop end to end (test/gitops/*.test.ts).
// Flux's real source-controller and kustomize-controller (built once by
// test/cluster/flux.sh, cached) pull sealed resources from a Git server on
// loopback and apply them to a private control plane; sealbox's controller
// turns them into Secrets. One file at a time: the steps are timed.
export default defineConfig({
  test: {
    name: 'gitops',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/gitops/**/*.test.ts'],
    globalSetup: ['test/gitops/global-setup.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
