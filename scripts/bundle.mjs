#!/usr/bin/env node
// Bundles the CLI into dist/bundle/sealbox.js (+ chunks for lazily loaded
// commands). One file instead of ~150 ES modules halves the CLI's start-up.
// Every dependency is bundled (package.json lists them all as devDependencies):
// the npm package and the container image need no node_modules, so
// `npm install -g ./sealbox-*.tgz` installs nothing from a registry. The heavy
// ones (client-node, the AWS and Azure SDKs, node-forge, pino, prom-client)
// land in lazily loaded chunks: a command loads only what it needs (the AWS
// SDK alone: ~30 ms less per KMS `unseal` than resolving its ~100 CommonJS
// files).
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { bundleFixes } from './lib/bundle-fixes.mjs';

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
  // no Node 24 deprecation warnings from bundled dependencies (see the file)
  ...bundleFixes,
  // CommonJS dependencies bundled into ESM still call require() for built-ins.
  banner: { js: "import { createRequire as __sealboxRequire } from 'node:module'; const require = __sealboxRequire(import.meta.url);" },
});
chmodSync('dist/bundle/sealbox.js', 0o755);
