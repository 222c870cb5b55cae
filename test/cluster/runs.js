// @ts-check
// Run directories: `$SEALBOX_CACHE/run/<id>/` holds one control plane's state
// (owner.json, pids/, pki/, etcd/, logs/, kubeconfig). Stopping a run and
// finding stale runs left by a killed test runner both go through here.
import process from 'node:process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime, readPidFiles, stopRecorded } from './procs.js';

/**
 * @typedef {object} Owner
 * @property {number} pid the process that started the run (the test runner)
 * @property {string | null} startTime that process's kernel start time
 * @property {boolean} persistent started by `cluster up`: lives until `cluster down`
 */

/** Seconds a run dir without owner.json is left alone: it may be starting. */
const CREATING_GRACE_MS = 30_000;

/**
 * Creates a run directory and records the calling process as its owner.
 * @param {string} stateDir
 * @param {boolean} persistent
 * @returns {Owner}
 */
export function createRunDir(stateDir, persistent) {
  mkdirSync(join(stateDir, 'pids'), { recursive: true, mode: 0o700 });
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  /** @type {Owner} */
  const owner = { pid: process.pid, startTime: processStartTime(process.pid), persistent };
  writeFileSync(join(stateDir, 'owner.json'), `${JSON.stringify(owner)}\n`);
  return owner;
}

/**
 * Returns a run's owner record, or null when it is missing or unreadable.
 * @param {string} stateDir
 * @returns {Owner | null}
 */
export function readOwner(stateDir) {
  try {
    return /** @type {Owner} */ (JSON.parse(readFileSync(join(stateDir, 'owner.json'), 'utf8')));
  } catch {
    return null;
  }
}

/**
 * True while the process that started the run is still running (same pid and
 * same start time, so a reused pid does not count).
 * @param {Owner} owner
 */
export function ownerAlive(owner) {
  return owner.startTime !== null && processStartTime(owner.pid) === owner.startTime;
}

/**
 * Stops every process recorded in the run's pid files (after checking each is
 * still the recorded binary for this run) and deletes the run directory.
 * The watchdog goes first so it cannot race the shutdown.
 * @param {string} stateDir
 * @param {{ exceptPid?: number, keep?: boolean }} [opts]
 * @returns {Promise<number>} how many live processes were stopped
 */
export async function stopRun(stateDir, opts = {}) {
  const recs = readPidFiles(join(stateDir, 'pids')).filter((r) => r.pid !== opts.exceptPid);
  const watchdog = recs.filter((r) => r.name === 'watchdog');
  const rest = recs.filter((r) => r.name !== 'watchdog');
  const stopped = (await stopRecorded(watchdog, stateDir, 1000)) + (await stopRecorded(rest, stateDir, 5000));
  if (!opts.keep) rmSync(stateDir, { recursive: true, force: true });
  return stopped;
}

/**
 * Stops runs whose owner is gone (a test runner killed with SIGKILL, a crash)
 * and deletes their directories. Runs of live owners, persistent runs and
 * directories still being created are left alone, so concurrent runs coexist.
 * @param {string} runRoot
 * @param {(msg: string) => void} [log]
 */
export async function cleanupStaleRuns(runRoot, log = () => undefined) {
  if (!existsSync(runRoot)) return;
  for (const name of readdirSync(runRoot)) {
    const dir = join(runRoot, name);
    const owner = readOwner(dir);
    if (owner?.persistent === true || (owner !== null && ownerAlive(owner))) continue;
    if (owner === null && Date.now() - mtimeMs(dir) < CREATING_GRACE_MS) continue;
    const n = await stopRun(dir);
    log(`sealbox: removed stale control plane run ${name}${n > 0 ? ` (stopped ${n} leftover processes)` : ''}`);
  }
}

/** @param {string} path */
function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
