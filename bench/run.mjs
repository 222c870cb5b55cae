#!/usr/bin/env node
// sealbox benchmarks against kubeseal, the sealed-secrets controller and sops,
// run side by side on this machine. Prints a table of medians, min–max and
// ratios (sealbox / peer; below 1 means sealbox is faster or smaller) and
// writes everything measured as JSON. See docs/BENCHMARKS.md.
//
//   node bench/run.mjs [--rows=1,2,3,4,5,6,7] [--quick] [--json=FILE] [--OPTION=VALUE ...]
//
// Options (also as environment variables BENCH_<NAME>, e.g. BENCH_RESOURCES=1000):
//   cli-runs 15, cli-warmup 2            row 1
//   bulk-files 1000, bulk-runs 3, bulk-warmup 1                 row 2
//   resources 5000, namespaces 50, controller-runs 1, latency-trials 100,
//   qps 1000, burst 2000 (both controllers: high enough that neither
//   client-side rate limiter binds; --qps=50 --burst=100 is sealbox's shipped
//   default), resync-period 30 (s),
//   floor-qps 0, floor-burst 2000 (QPS of an extra sealbox cold start compared
//   with the RSA floor; 0 = compare the main cold start),
//   cold-timeout 1800 (s)                                       rows 3–6
//   kms-files 200, kms-runs 3, kms-warmup 0                     row 7
//   keep-work (keep the scratch folder)
// Profiling aids: BENCH_PROFILE_DIR=DIR (V8 CPU profile of each sealbox
// controller run), BENCH_NODE_ARGS='--heapsnapshot-signal=SIGUSR2' (more node
// flags for it), BENCH_SKIP_PEER_CONTROLLER=1 (rows 3–6 for sealbox only).
// --quick: small sizes for a smoke run of every row (a few minutes).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterPaths } from '../test/cluster/control-plane.js';
import { haveGnuTime, run } from './lib/proc.mjs';
import { buildTable, printTable } from './lib/table.mjs';
import { benchCli } from './rows/cli.mjs';
import { benchController } from './rows/controller.mjs';
import { benchKms } from './rows/kms.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const quick = flag('quick');

const DEFAULTS = {
  'cli-runs': 15, 'cli-warmup': 2,
  'bulk-files': 1000, 'bulk-runs': 3, 'bulk-warmup': 1,
  resources: 5000, namespaces: 50, 'controller-runs': 1, 'latency-trials': 100,
  qps: 1000, burst: 2000, 'resync-period': 30, 'floor-qps': 0, 'floor-burst': 2000, 'cold-timeout': 1800,
  'kms-files': 200, 'kms-runs': 3, 'kms-warmup': 0,
};
const QUICK = {
  'cli-runs': 5, 'cli-warmup': 1, 'bulk-files': 100, 'bulk-runs': 1, 'bulk-warmup': 0,
  resources: 300, namespaces: 10, 'latency-trials': 20, 'resync-period': 20, 'kms-files': 20, 'kms-runs': 1, 'kms-warmup': 0,
};
function opt(name) {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (a !== undefined) return Number(a.slice(name.length + 3));
  const env = process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
  if (env !== undefined && env !== '') return Number(env);
  return quick && name in QUICK ? QUICK[name] : DEFAULTS[name];
}
for (const name of Object.keys(DEFAULTS)) {
  if (!Number.isFinite(opt(name)) || opt(name) < 0) {
    console.error(`bench: --${name} must be a number >= 0`);
    process.exit(2);
  }
}
const rowsArg = argv.find((x) => x.startsWith('--rows='))?.slice(7) ?? process.env.BENCH_ROWS ?? '1,2,3,4,5,6,7';
const rows = new Set(rowsArg.split(',').map(Number));
const jsonOut = resolve(argv.find((x) => x.startsWith('--json='))?.slice(7) ?? join(root, 'bench/results/latest.json'));

const started = Date.now();
const log = (m) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);

if (!existsSync(join(root, 'dist/bundle/sealbox.js'))) {
  console.error('bench: dist/bundle/sealbox.js is missing; run npm run build first');
  process.exit(2);
}

log('installing or finding the peers (bench/peers.sh)');
const peers = JSON.parse(run('bash', [join(root, 'bench/peers.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop());
const work = mkdtempSync(join(tmpdir(), 'sealbox-bench-'));
const runId = `${Date.now().toString(36)}-${process.pid}`;

const o = {
  root, peers, work, runId, log, rows,
  cliRuns: opt('cli-runs'), cliWarmup: opt('cli-warmup'),
  bulkFiles: opt('bulk-files'), bulkRuns: opt('bulk-runs'), bulkWarmup: opt('bulk-warmup'),
  resources: opt('resources'), namespaces: opt('namespaces'), controllerRuns: Math.max(1, opt('controller-runs')),
  latencyTrials: opt('latency-trials'), qps: opt('qps'), burst: opt('burst'), resyncPeriod: opt('resync-period'),
  floorQps: opt('floor-qps'), floorBurst: opt('floor-burst'), coldTimeoutMs: opt('cold-timeout') * 1000,
  kmsFiles: opt('kms-files'), kmsRuns: opt('kms-runs'), kmsWarmup: opt('kms-warmup'),
};

const report = {
  startedAt: new Date(started).toISOString(),
  machine: machine(),
  versions: versions(),
  settings: Object.fromEntries(Object.entries(o).filter(([k]) => !['root', 'peers', 'work', 'log', 'rows', 'runId'].includes(k))),
  rowsRequested: [...rows],
  raw: {},
  errors: {},
};

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
report.load = {};
async function step(name, fn) {
  const before = loadavg();
  if (before[0] > 1.5) log(`note: load average ${before.join(' ')} before ${name} (includes the step before; other work on this machine shows in the numbers)`);
  try {
    report.raw[name] = await fn();
  } catch (err) {
    report.errors[name] = err instanceof Error ? err.stack ?? err.message : String(err);
    log(`${name} FAILED: ${report.errors[name].split('\n').slice(0, 6).join('\n')}`);
  }
  report.load[name] = { before, after: loadavg() };
}

// Ctrl-C: stop what runs (controllers and control planes stop in the finally blocks; the
// control planes' watchdogs stop them even if we die)
process.once('SIGINT', () => { log('interrupted'); process.exit(130); });

if (rows.has(3) || rows.has(4) || rows.has(5)) {
  await step('rsaFloor', () => rsaFloor());
}
if (rows.has(1) || rows.has(2)) await step('cli', () => benchCli(o));
if ([3, 4, 5, 6].some((r) => rows.has(r))) {
  await step('sealboxController', () => benchController('sealbox', o));
  if (process.env.BENCH_SKIP_PEER_CONTROLLER !== '1') {
    await step('bitnamiController', () => benchController('sealed-secrets', { ...o, steadyWindowMs: report.raw.sealboxController?.steady?.windowMs }));
  }
}
if (rows.has(7)) await step('kms', () => benchKms(o));

report.finishedAt = new Date().toISOString();
report.durationSec = Math.round((Date.now() - started) / 1000);
report.table = buildTable(report, o);
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, `${JSON.stringify(report, (k, v) => (k === 'stderr' ? undefined : v), 1)}\n`);
printTable(report);
process.stdout.write(`\nJSON: ${jsonOut}\nduration: ${Math.floor(report.durationSec / 60)} min ${report.durationSec % 60} s\n`);
if (flag('keep-work')) process.stdout.write(`scratch folder kept: ${work}\n`);
else rmSync(work, { recursive: true, force: true });
process.exit(Object.keys(report.errors).length === 0 ? 0 : 1);

/**
 * RSA-4096 private operations per second with every core (openssl speed
 * -multi) and with one: the median of three measurements each, since one
 * measurement on a shared machine can be far off (we saw 264 to 457 ops/s).
 */
function rsaFloor() {
  const n = cpus().length;
  const speed = (args) => {
    const out = execFileSync('openssl', ['speed', ...args, '-mr', 'rsa4096'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // last line "+F2:<n>:4096:<sign/s>:<verify/s>" (summed over the processes with -multi)
    return Number(out.trim().split('\n').filter((l) => l.startsWith('+F2:')).pop()?.split(':')[3]);
  };
  const multi = [1, 2, 3].map(() => speed(['-multi', String(n), '-seconds', '3']));
  const one = [1, 2, 3].map(() => speed(['-seconds', '2']));
  const median = (xs) => [...xs].sort((a, b) => a - b)[1];
  return {
    processes: n, privateOpsPerSec: median(multi), privateOpsPerSecOneCore: median(one), samples: { multi, one },
    openssl: execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim(),
  };
}

function machine() {
  const read = (f) => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
  const os = /PRETTY_NAME="([^"]*)"/.exec(read('/etc/os-release'))?.[1] ?? '';
  return {
    cpu: cpus()[0]?.model ?? '', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    freeMemoryGiB: Math.round(freemem() / 2 ** 30 * 10) / 10, kernel: read('/proc/sys/kernel/osrelease').trim(), os,
    loadavg: read('/proc/loadavg').trim(), gnuTime: haveGnuTime,
  };
}

function versions() {
  const tryRun = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; } };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const cp = clusterPaths();
  const moto = /MOTO_VERSION=(\S+)/.exec(readFileSync(join(root, 'test/peers/versions.sh'), 'utf8'))?.[1];
  return {
    sealbox: pkg.version, sealboxCommit: tryRun('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    sealboxDirty: tryRun('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'cli']) !== '',
    node: process.version, go: tryRun('go', ['env', 'GOVERSION']), openssl: tryRun('openssl', ['version']),
    kubeseal: peers.sealedSecretsVersion, sealedSecretsController: peers.sealedSecretsVersion, sops: peers.sopsVersion,
    kubernetes: cp.k8sVersion, etcd: cp.etcdVersion, moto,
  };
}

