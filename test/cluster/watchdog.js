// @ts-check
// Watchdog for one control-plane run: `node watchdog.js <stateDir> <ownerPid>
// <ownerStartTime>`. Started detached by startControlPlane. When the owner
// (the test runner) is gone, whatever killed it (SIGKILL included), it stops
// the run's processes by pid file and removes the state dir. It exits quietly
// once the state dir is gone (a normal stop).
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { existsSync } from 'node:fs';
import { processStartTime } from './procs.js';
import { stopRun } from './runs.js';

const [stateDir = '', ownerPid = '', ownerStart = ''] = process.argv.slice(2);
const POLL_MS = 250;

async function tick() {
  if (!existsSync(stateDir)) process.exit(0);
  if (processStartTime(Number(ownerPid)) !== ownerStart) {
    await stopRun(stateDir, { exceptPid: process.pid });
    process.exit(0);
  }
  setTimeout(() => { void tick(); }, POLL_MS);
}

if (stateDir === '' || ownerStart === '') {
  process.stderr.write('usage: node watchdog.js <stateDir> <ownerPid> <ownerStartTime>\n');
  process.exit(2);
}
void tick();
