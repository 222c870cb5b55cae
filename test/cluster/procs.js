// @ts-check
// Process bookkeeping for the local control plane: pid files, identity checks
// through /proc, and stopping. Linux only (reads /proc). Processes are found by
// pid file and checked against their recorded command line, never by name.
import process from 'node:process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * @typedef {object} PidRecord
 * @property {string} name component name, also the pid file's base name
 * @property {number} pid
 * @property {string} exe argv[0] the process was started with (absolute path)
 */

/**
 * Returns a process's argv from /proc, or null when it is gone or a zombie.
 * @param {number} pid
 * @returns {string[] | null}
 */
export function readCmdline(pid) {
  if (!isAlive(pid)) return null;
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return null;
  }
}

/**
 * Returns the kernel's start time of a process (clock ticks since boot) as a
 * string, or null when the process is gone. Guards against pid reuse.
 * @param {number} pid
 * @returns {string | null}
 */
export function processStartTime(pid) {
  const stat = readStat(pid);
  // Fields after the last ')' start at field 3 (state); starttime is field 22.
  return stat === null ? null : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null);
}

/**
 * True when the process exists and is not a zombie.
 * @param {number} pid
 */
export function isAlive(pid) {
  const stat = readStat(pid);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** @param {number} pid */
function readStat(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Writes `<dir>/<name>.pid` (JSON: pid, exe) for a process this run started.
 * @param {string} dir
 * @param {PidRecord} rec
 */
export function writePidFile(dir, rec) {
  writeFileSync(join(dir, `${rec.name}.pid`), `${JSON.stringify(rec)}\n`);
}

/**
 * Reads every pid file in a directory; unreadable files are skipped.
 * @param {string} dir
 * @returns {PidRecord[]}
 */
export function readPidFiles(dir) {
  /** @type {PidRecord[]} */
  const out = [];
  let names = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.pid'));
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const rec = /** @type {PidRecord} */ (JSON.parse(readFileSync(join(dir, n), 'utf8')));
      if (Number.isInteger(rec.pid) && typeof rec.exe === 'string') out.push(rec);
    } catch {
      // a half-written pid file from a killed run: nothing we can verify
    }
  }
  return out;
}

/**
 * True when the pid is still the process the record describes: same argv[0]
 * and an argument that mentions this run's state directory. A reused pid
 * fails both checks, so we never signal an unrelated process.
 * @param {PidRecord} rec
 * @param {string} stateDir
 */
export function isRecordedProcess(rec, stateDir) {
  const argv = readCmdline(rec.pid);
  return argv !== null && argv[0] === rec.exe && argv.some((a) => a.includes(stateDir));
}

/**
 * Stops the recorded processes that are still ours: SIGTERM to all, then
 * SIGKILL to any still alive after `graceMs`. Resolves when all are gone.
 * @param {PidRecord[]} recs
 * @param {string} stateDir
 * @param {number} [graceMs]
 * @returns {Promise<number>} how many live processes were stopped
 */
export async function stopRecorded(recs, stateDir, graceMs = 5000) {
  const ours = recs.filter((r) => isRecordedProcess(r, stateDir));
  for (const r of ours) signal(r.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (ours.some((r) => isAlive(r.pid)) && Date.now() < deadline) await sleep(50);
  for (const r of ours) if (isRecordedProcess(r, stateDir)) signal(r.pid, 'SIGKILL');
  // SIGKILL cannot be ignored; the bound only covers a process stuck in the kernel
  const killDeadline = Date.now() + 5000;
  while (ours.some((r) => isAlive(r.pid)) && Date.now() < killDeadline) await sleep(20);
  return ours.length;
}

/**
 * @param {number} pid
 * @param {NodeJS.Signals} sig
 */
function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
