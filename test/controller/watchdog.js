// @ts-check
// Watchdog for one controller process started by a test: `node watchdog.js
// <recordFile>`. The record (JSON) names the controller's pid and kernel start
// time and the test worker's. When the worker is gone, whatever killed it
// (SIGKILL included), the watchdog stops the controller; when the controller
// is gone first (stopped by the test), it just exits. Either way it removes
// the record. Processes are identified by pid plus start time, never by name.
import process from 'node:process';
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processStartTime } from '../cluster/procs.js';

const POLL_MS = 250;
const [recordFile = ''] = process.argv.slice(2);

/**
 * @typedef {object} ControllerRecord
 * @property {number} pid controller process
 * @property {string} start its kernel start time
 * @property {number} ownerPid test worker that started it
 * @property {string} ownerStart the worker's kernel start time
 */

/** @returns {ControllerRecord | null} */
function readRecord() {
  try {
    return /** @type {ControllerRecord} */ (JSON.parse(readFileSync(recordFile, 'utf8')));
  } catch {
    return null;
  }
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

async function main() {
  for (;;) {
    const rec = readRecord();
    if (rec === null) return;
    const alive = () => processStartTime(rec.pid) === rec.start;
    if (!alive()) break;
    if (processStartTime(rec.ownerPid) !== rec.ownerStart) {
      signal(rec.pid, 'SIGTERM');
      const deadline = Date.now() + 2000;
      while (alive() && Date.now() < deadline) await sleep(50);
      if (alive()) signal(rec.pid, 'SIGKILL');
      break;
    }
    await sleep(POLL_MS);
  }
  rmSync(recordFile, { force: true });
}

if (recordFile === '') {
  process.stderr.write('usage: node watchdog.js <recordFile>\n');
  process.exit(2);
}
void main();
