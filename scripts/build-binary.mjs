#!/usr/bin/env node
// Builds dist/binary/sealbox: one executable for linux-x64 that needs no Node
// installed (Node's single-executable applications, SEA).
//
//   1. esbuild bundles cli/binary.ts and every dependency into one CommonJS
//      file (a SEA runs one script and can require only Node's built-ins);
//   2. `node --experimental-sea-config sea-config.json` runs it once to take a
//      V8 startup snapshot (modules loaded, commander program built) and
//      writes the preparation blob;
//   3. a copy of that same node binary (symbols stripped when `strip` is
//      there) gets the blob injected with postject.
//
// The snapshot only loads in the node binary that made it, so steps 2 and 3
// use one binary: the Node that runs this script (the machine's), or the one
// SEALBOX_SEA_NODE names (e.g. "$(bash scripts/node24.sh)/node" for Node 24;
// measured in docs/BENCHMARKS.md: its binary is 24 MiB larger and starts no
// faster).
//
// Prints the size of the result and the time of each step.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/binary');
const config = JSON.parse(readFileSync(join(root, 'sea-config.json'), 'utf8'));
// the fuse postject flips so that node runs the injected blob (Node's documented value)
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MiB = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

let last = Date.now();
function step(message) {
  const now = Date.now();
  process.stderr.write(`build:binary: ${message} (${((now - last) / 1000).toFixed(1)} s)\n`);
  last = now;
}

function seaNode() {
  const chosen = process.env.SEALBOX_SEA_NODE;
  return chosen !== undefined && chosen !== '' ? chosen : process.execPath;
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  process.stderr.write(`build:binary: builds for linux-x64 only, not ${process.platform}-${process.arch}\n`);
  process.exit(2);
}
const node = seaNode();
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: ['cli/binary.ts'],
  outfile: join(root, config.main),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  absWorkingDir: root,
});
step(`bundled ${config.main} (${MiB(statSync(join(root, config.main)).size)})`);

// the snapshot builder warns that some built-ins (child_process) are "not yet
// fully verified" in snapshots; the test of the binary runs what uses them
const blob = spawnSync(node, ['--experimental-sea-config', 'sea-config.json'], { cwd: root, encoding: 'utf8' });
if (blob.status !== 0) {
  process.stderr.write(`${blob.stdout}${blob.stderr}`);
  throw new Error(`${node} --experimental-sea-config sea-config.json failed (exit ${blob.status})`);
}
step(`snapshot and blob by Node ${version} (${MiB(statSync(join(root, config.output)).size)})`);

const exe = join(out, 'sealbox');
copyFileSync(node, exe);
chmodSync(exe, 0o755);
if (spawnSync('strip', [exe]).status !== 0) process.stderr.write('build:binary: no `strip` here; the binary keeps its symbols\n');
const postject = join(root, 'node_modules/.bin/postject');
const inject = spawnSync(postject, [exe, 'NODE_SEA_BLOB', join(root, config.output), '--sentinel-fuse', SEA_FUSE], { encoding: 'utf8' });
if (inject.status !== 0) {
  process.stderr.write(`${inject.stdout}${inject.stderr}`);
  throw new Error(`postject failed (exit ${inject.status})`);
}
step(`injected into a copy of ${node}`);
process.stdout.write(`${exe}: ${MiB(statSync(exe).size)}, Node ${version}, linux-x64\n`);
