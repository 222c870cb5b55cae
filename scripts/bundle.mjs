#!/usr/bin/env node
// Bundles the CLI into dist/bundle/sealbox.js (+ chunks for lazily loaded
// commands). One file instead of ~150 ES modules halves the CLI's start-up;
// client-node, the Azure SDK, node-forge, pino and prom-client stay external;
// the AWS SDK is bundled (into lazily loaded chunks: ~30 ms less per
// `unseal` of a KMS file than resolving its ~100 CommonJS files). Everything
// heavy loads only when a command needs it.
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// chunk names carry content hashes: start empty so old chunks do not pile up
rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: { sealbox: 'cli/main.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  sourcemap: true,
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  external: ['@kubernetes/client-node', '@azure/*', 'node-forge', 'pino', 'prom-client'],
  // CommonJS dependencies bundled into ESM still call require() for built-ins.
  banner: { js: "import { createRequire as __sealboxRequire } from 'node:module'; const require = __sealboxRequire(import.meta.url);" },
});
chmodSync('dist/bundle/sealbox.js', 0o755);
