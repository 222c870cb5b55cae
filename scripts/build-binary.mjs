#!/usr/bin/env node
// Builds dist/binary/sealbox: one executable for linux-x64 that needs no Node
// installed (Node's single-executable applications, SEA).
//
//   1. esbuild bundles cli/binary.ts and every dependency into one CommonJS
//      file (a SEA runs one script and can require only Node's built-ins);
//   2. `node --experimental-sea-config sea-config.json` runs it once to take a
//      V8 startup snapshot (modules loaded, commander program built, a sample
//      Secret sealed and verified so that their bytecode is in it) and writes
//      the preparation blob;
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
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import forge from 'node-forge';
import { bundleFixes } from './lib/bundle-fixes.mjs';

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

// Heavy packages are bundled apart, into the asset deps.cjs (sea-config.json),
// which the binary evaluates only when a command imports one of them
// (cli/binary-deps.ts): a startup snapshot that holds them starts ~30 ms slower.
const HEAVY = ['@kubernetes/client-node', '@aws-sdk/client-kms', '@azure/identity', '@azure/keyvault-keys', '@azure/keyvault-secrets', 'node-forge', 'pino', 'prom-client'];
// bundleFixes: no Node 24 deprecation warnings from bundled dependencies (scripts/lib/bundle-fixes.mjs)
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], minify: true, keepNames: true, logLevel: 'warning', absWorkingDir: root, ...bundleFixes };
const loader = join(root, 'cli/binary-deps.ts');
const heavyToAsset = {
  name: 'heavy-to-asset',
  setup(b) {
    const filter = new RegExp(`^(${HEAVY.map((h) => h.replace(/[/.-]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'sea-dependency' }));
    b.onLoad({ filter: /.*/, namespace: 'sea-dependency' }, (a) => ({
      contents: `module.exports = require(${JSON.stringify(loader)}).loadDependency(${JSON.stringify(a.path)});`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};
await build({ ...common, entryPoints: ['cli/binary.ts'], outfile: join(root, config.main), plugins: [heavyToAsset, ...bundleFixes.plugins] });
const depsFile = join(root, config.assets['deps.cjs']);
const depsEntry = `module.exports = {\n${HEAVY.map((h) => `  ${JSON.stringify(h)}: () => require(${JSON.stringify(h)}),`).join('\n')}\n};\n`;
await build({ ...common, stdin: { contents: depsEntry, resolveDir: root, sourcefile: 'deps.cjs' }, outfile: depsFile });
step(`bundled ${config.main} (${MiB(statSync(join(root, config.main)).size)}) and ${config.assets['deps.cjs']} (${MiB(statSync(depsFile).size)})`);

/** Writes a throwaway self-signed certificate (RSA-2048) for the snapshot's warm-up seal; returns its path. */
function warmUpCertificate() {
  // PEM straight out of the generator: on Node 20, exporting a key object that
  // generateKeyPairSync made can deadlock when a GC runs during the export.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'sealbox-snapshot-warm-up' }]);
  cert.setIssuer(cert.subject.attributes);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const file = join(out, 'warm-up.cert.pem');
  writeFileSync(file, forge.pki.certificateToPem(cert));
  return file;
}

// cli/binary.ts seals a sample for this certificate while the snapshot is
// built. The snapshot builder warns that some built-ins (child_process) are
// "not yet fully verified" in snapshots; the test of the binary runs what uses them.
const env = { ...process.env, SEALBOX_SNAPSHOT_WARM_UP_CERT: warmUpCertificate() };
const blob = spawnSync(node, ['--experimental-sea-config', 'sea-config.json'], { cwd: root, env, encoding: 'utf8' });
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
