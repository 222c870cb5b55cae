import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/vectors/**/*.test.ts', 'test/cli/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // against moto (AWS KMS) and Lowkey Vault (Azure Key Vault), started by
          // test/peers (docs/KMS.md); no control plane needed
          name: 'kms',
          include: ['test/integration/kms-*.test.ts'],
          globalSetup: ['test/peers/kms-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
