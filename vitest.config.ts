import { defineConfig } from 'vitest/config';

// SEALBOX_TEST_REPORT=FILE also writes a JSON report (.ci/run prints its totals).
const report = process.env.SEALBOX_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report === undefined ? ['default'] : ['default', ['json', { outputFile: report }]],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/vectors/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // the built CLI (dist/bundle) run as a child process; npm test builds first
          name: 'cli',
          include: ['test/cli/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // against a real control plane (test/cluster, docs/CLUSTER.md); set
          // SEALBOX_TEST_KUBECONFIG to use an existing cluster instead
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // files share one API server on a 2-core machine; each has its own namespace
          maxWorkers: 2,
          // a different worker limit from 'unit' needs its own group: runs after 'unit'
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // against moto (AWS KMS) and the Key Vault stand-in (test/peers/keyvault-server.mjs), started by
          // test/peers (docs/KMS.md); no control plane needed. After each test, the stand-in's mismatches
          // with Microsoft's OpenAPI spec (../shared/peers/azure-keyvault) fail it (kms-spec-check.ts).
          name: 'kms',
          include: ['test/kms/**/*.test.ts'],
          globalSetup: ['test/peers/kms-global-setup.ts'],
          setupFiles: ['test/peers/kms-spec-check.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
