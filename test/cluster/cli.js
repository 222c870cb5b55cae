#!/usr/bin/env node
// @ts-check
// Command line for the local control plane (plain Node 20, no TypeScript):
//   node test/cluster/cli.js build          build/cached binaries (build.sh)
//   node test/cluster/cli.js up             start the persistent "dev" control plane; prints its kubeconfig path
//   node test/cluster/cli.js down           stop it (and remove stale runs of killed runners)
//   node test/cluster/cli.js status         list runs and whether their processes are alive
//   node test/cluster/cli.js run -- CMD...  start a private control plane, run CMD with KUBECONFIG set, stop it
// Progress goes to stderr; `up` prints only the kubeconfig path on stdout.
import process from 'node:process';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { buildControlPlane, clusterPaths, startControlPlane } from './control-plane.js';
import { isRecordedProcess, readPidFiles } from './procs.js';
import { cleanupStaleRuns, ownerAlive, readOwner, stopRun } from './runs.js';

const DEV_ID = 'dev';
const log = (/** @type {string} */ m) => { process.stderr.write(`${m}\n`); };

/** @param {string} stateDir */
function liveProcesses(stateDir) {
  return readPidFiles(join(stateDir, 'pids')).filter((r) => isRecordedProcess(r, stateDir));
}

async function up() {
  const paths = clusterPaths();
  const dir = join(paths.runRoot, DEV_ID);
  if (existsSync(dir)) {
    const names = liveProcesses(dir).map((r) => r.name);
    if (['etcd', 'kube-apiserver', 'kube-controller-manager'].every((n) => names.includes(n))) {
      log(`sealbox: control plane "${DEV_ID}" is already running`);
      process.stdout.write(`${join(dir, 'kubeconfig')}\n`);
      return;
    }
    log(`sealbox: control plane "${DEV_ID}" is incomplete (${names.join(', ') || 'nothing'} running); restarting it`);
    await stopRun(dir);
  }
  const cp = await startControlPlane({ id: DEV_ID, persistent: true, build: true, crdFiles: crdFilesFromEnv(), log });
  log(`sealbox: stop it with: node test/cluster/cli.js down\nexport KUBECONFIG=${cp.kubeconfig}`);
  process.stdout.write(`${cp.kubeconfig}\n`);
}

async function down() {
  const paths = clusterPaths();
  const dir = join(paths.runRoot, DEV_ID);
  const n = existsSync(dir) ? await stopRun(dir) : 0;
  log(n > 0 ? `sealbox: stopped control plane "${DEV_ID}" (${n} processes)` : `sealbox: control plane "${DEV_ID}" was not running`);
  await cleanupStaleRuns(paths.runRoot, log);
}

function status() {
  const { runRoot } = clusterPaths();
  const names = existsSync(runRoot) ? readdirSync(runRoot) : [];
  if (names.length === 0) log('sealbox: no control plane runs');
  for (const name of names) {
    const dir = join(runRoot, name);
    const owner = readOwner(dir);
    const who = owner === null ? 'no owner' : owner.persistent ? 'persistent' : `owner pid ${owner.pid} ${ownerAlive(owner) ? 'alive' : 'gone'}`;
    const procs = liveProcesses(dir).map((r) => `${r.name}=${r.pid}`).join(' ');
    process.stdout.write(`${name}\t${who}\t${procs || 'no live processes'}\n`);
  }
}

/** @param {string[]} cmd */
async function run(cmd) {
  const [exe, ...args] = cmd;
  if (exe === undefined) throw new Error('usage: cli.js run -- <command> [args...]');
  const cp = await startControlPlane({ build: true, crdFiles: crdFilesFromEnv(), log });
  const env = { ...process.env, KUBECONFIG: cp.kubeconfig, SEALBOX_TEST_KUBECONFIG: cp.kubeconfig };
  const child = spawn(exe, args, { stdio: 'inherit', env });
  /** @param {NodeJS.Signals} sig */
  const forward = (sig) => { child.kill(sig); };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise((resolve) => {
    child.on('exit', (c, s) => { resolve(c ?? 128 + (s === null ? 0 : constants.signals[s])); });
    child.on('error', (err) => { log(`error: could not run ${exe}: ${err.message}`); resolve(127); });
  });
  await cp.stop();
  process.exitCode = Number(code);
}

/** Extra CRD files to install before kube-controller-manager: SEALBOX_CLUSTER_CRDS=a.yaml:b.yaml */
function crdFilesFromEnv() {
  return (process.env.SEALBOX_CLUSTER_CRDS ?? '').split(':').filter((f) => f !== '');
}

const [command, ...rest] = process.argv.slice(2);
/** @type {Record<string, () => Promise<void> | void>} */
const commands = {
  build: buildControlPlane,
  up,
  down,
  status,
  run: () => run(rest[0] === '--' ? rest.slice(1) : rest),
};
const fn = command === undefined ? undefined : commands[command];
if (fn === undefined) {
  log('usage: node test/cluster/cli.js build|up|down|status|run -- <command>');
  process.exitCode = 2;
} else {
  try {
    await fn();
  } catch (err) {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
