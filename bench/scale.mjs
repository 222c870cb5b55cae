#!/usr/bin/env node
// bench:scale: the controller's cold start, CPU, memory and API requests at
// 5,000 to 100,000 sealed resources (issue 17), against the sealed-secrets
// controller where it can run (up to --peer-max; beyond 20,000 its cold start
// takes hours). Each size and controller runs against its own fresh control
// plane on this machine. Prints a table, writes everything as JSON. See
// docs/BENCHMARKS.md "Scale".
//
//   node bench/scale.mjs [--sizes=5000,20000,50000,100000] [--OPTION=VALUE ...]
//
// Options (also BENCH_<NAME>, e.g. BENCH_SIZES=5000):
//   sizes 5000,20000,50000,100000   peer-max 20000 (0: sealbox only)
//   namespaces 100, qps 1000, burst 2000 (both controllers), resync-period 60 (s),
//   cold-timeout 7200 (s), key-bits 4096 (sealbox's key; sealed-secrets always 4096),
//   shards 0 (2: a second sealbox cold start with two sharded replicas)
//   controllers sealbox,sealed-secrets (which to run; e.g. sealed-secrets alone)
//   json FILE (default bench/results/scale-latest.json), keep-work
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { run } from './lib/proc.mjs';
import { benchScale } from './rows/scale.mjs';
import { printScaleTable } from './lib/scale-table.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const DEFAULTS = {
  sizes: '5000,20000,50000,100000', 'peer-max': '20000', namespaces: '100', qps: '1000', burst: '2000',
  'resync-period': '60', 'cold-timeout': '7200', 'key-bits': '4096', shards: '0', controllers: 'sealbox,sealed-secrets', json: join(root, 'bench/results/scale-latest.json'),
};
function opt(name) {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (a !== undefined) return a.slice(name.length + 3);
  return process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`] || DEFAULTS[name];
}
const num = (name) => {
  const v = Number(opt(name));
  if (!Number.isFinite(v) || v < 0) { console.error(`bench:scale: --${name} must be a number >= 0`); process.exit(2); }
  return v;
};
const sizes = opt('sizes').split(',').map(Number);
if (sizes.some((s) => !Number.isInteger(s) || s <= 0)) { console.error('bench:scale: --sizes must be positive integers'); process.exit(2); }

const started = Date.now();
const log = (m) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}\n`);
if (!existsSync(join(root, 'dist/bundle/sealbox.js'))) { console.error('bench:scale: run npm run build first'); process.exit(2); }

const peerMax = num('peer-max');
const controllers = opt('controllers').split(',');
if (controllers.length === 0 || controllers.some((c) => c !== 'sealbox' && c !== 'sealed-secrets')) {
  console.error('bench:scale: --controllers takes sealbox, sealed-secrets or both'); process.exit(2);
}
log('installing or finding the peers (bench/peers.sh)');
const peers = JSON.parse(run('bash', [join(root, 'bench/peers.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop());
const work = mkdtempSync(join(tmpdir(), 'sealbox-bench-scale-'));
const o = {
  root, peers, work, log, runId: `${Date.now().toString(36)}-${process.pid}`,
  namespaces: num('namespaces'), qps: num('qps'), burst: num('burst'), resyncPeriod: num('resync-period'),
  coldTimeoutMs: num('cold-timeout') * 1000, keyBits: num('key-bits'), shards: num('shards'),
  // the replica's shard as `sealbox controller` takes it (issue 17 §2)
  shardArgs: (i, count) => ['--shards', String(count), '--shard', String(i)],
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const tryRun = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; } };
const report = {
  startedAt: new Date(started).toISOString(),
  machine: { cpu: cpus()[0]?.model ?? '', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10 },
  versions: {
    sealboxCommit: tryRun('git', ['-C', root, 'rev-parse', '--short', 'HEAD']), node: process.version,
    sealedSecretsController: peers.sealedSecretsVersion, nodeOptions: 'deploy/deployment.yaml',
  },
  settings: { sizes, peerMax, namespaces: o.namespaces, qps: o.qps, burst: o.burst, resyncPeriod: o.resyncPeriod, keyBits: o.keyBits, shards: o.shards },
  sizes: {},
  errors: {},
  load: {},
};
process.once('SIGINT', () => { log('interrupted'); process.exit(130); });

const jsonOut = resolve(opt('json'));
const save = () => {
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, `${JSON.stringify(report, null, 1)}\n`);
};
for (const n of sizes) {
  report.sizes[n] = {};
  for (const kind of ['sealbox', 'sealed-secrets']) {
    if (!controllers.includes(kind) || (kind === 'sealed-secrets' && n > peerMax)) continue;
    const key = `${kind} ${n}`;
    const before = loadavg();
    try {
      report.sizes[n][kind] = await benchScale(kind, n, o);
    } catch (err) {
      report.errors[key] = err instanceof Error ? err.stack ?? err.message : String(err);
      log(`${key} FAILED: ${report.errors[key].split('\n').slice(0, 6).join('\n')}`);
    }
    report.load[key] = { before, after: loadavg() };
    save(); // a long run keeps what it has measured
  }
}
report.finishedAt = new Date().toISOString();
report.durationSec = Math.round((Date.now() - started) / 1000);
save();
printScaleTable(report);
process.stdout.write(`\nJSON: ${jsonOut}\nduration: ${Math.floor(report.durationSec / 60)} min ${report.durationSec % 60} s\n`);
if (argv.includes('--keep-work')) process.stdout.write(`scratch folder kept: ${work}\n`);
else rmSync(work, { recursive: true, force: true });
process.exit(Object.keys(report.errors).length === 0 ? 0 : 1);
