// Runs `sealbox controller` (the built CLI, dist/bundle/sealbox.js, what npx sealbox runs) as a child
// process the way a pod would: its own kubeconfig, JSON logs to a file. Each
// process gets a detached watchdog (watchdog.js) that stops it if the test
// worker dies, and a record file so a later run can stop it if the watchdog
// died too.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterPaths } from '../cluster/control-plane.js';
import { spawnSealbox } from '../helpers/cli.js';

const WATCHDOG = fileURLToPath(new URL('./watchdog.js', import.meta.url));

interface ControllerRecord {
  pid: number;
  start: string;
  ownerPid: number;
  ownerStart: string;
}

/**
 * Returns a process's kernel start time (clock ticks since boot, field 22 of
 * /proc/PID/stat), or undefined when it is gone; guards against pid reuse.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** Directory of the records of controller processes started by tests. */
function recordDir(): string {
  const dir = join(clusterPaths().cache, 'controller-tests');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Stops controller processes left by test workers that are gone (their
 * watchdog was killed too) and removes their records. Returns how many
 * processes it stopped. Only pids whose kernel start time matches the record
 * are signalled, so a reused pid is never touched.
 */
export function sweepLeftoverControllers(): number {
  const dir = recordDir();
  let stopped = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const file = join(dir, f);
    let rec: ControllerRecord;
    try {
      rec = JSON.parse(readFileSync(file, 'utf8')) as ControllerRecord;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    if (processStartTime(rec.ownerPid) === rec.ownerStart) continue; // its worker still runs
    if (processStartTime(rec.pid) === rec.start) {
      try {
        process.kill(rec.pid, 'SIGKILL');
        stopped++;
      } catch {
        // already gone
      }
    }
    rmSync(file, { force: true });
  }
  return stopped;
}

/**
 * Has a detached watchdog (watchdog.js) stop process `pid` when this test
 * worker dies, and records it for sweepLeftoverControllers in case the
 * watchdog dies too: for any controller a test starts (sealbox's, or a peer's).
 */
export function guardChild(pid: number): void {
  const start = processStartTime(pid) ?? '';
  const record = join(recordDir(), `${process.pid}-${pid}.json`);
  writeFileSync(record, JSON.stringify({ pid, start, ownerPid: process.pid, ownerStart: processStartTime(process.pid) ?? '' } satisfies ControllerRecord));
  spawn(process.execPath, [WATCHDOG, record], { detached: true, stdio: 'ignore' }).unref();
}

/** A `sealbox controller` child process. */
export interface ControllerProcess {
  readonly name: string;
  readonly pid: number;
  /** http://127.0.0.1:PORT, from the "http server listening" log line */
  readonly url: string;
  readonly logFile: string;
  /** The log so far (JSON lines, stdout and stderr). */
  log(): string;
  /** Parsed JSON log lines; lines that are not JSON are skipped. */
  logRecords(): Record<string, unknown>[];
  /** True until the process has exited. */
  alive(): boolean;
  /** Sends a signal; resolves when the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Options of startController. */
export interface StartControllerOptions {
  readonly name: string;
  readonly logDir: string;
  readonly args: readonly string[];
  /** Environment variables on top of the test's (spawnSealbox), e.g. a Deployment's env. */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for the HTTP server to listen. */
  readonly timeoutMs?: number;
}

function parseLog(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut at the end of the file: read again later
    }
  }
  return out;
}

/**
 * Spawns `sealbox controller ARGS` (spawnSealbox, test/helpers/cli.ts) with stdout and stderr in
 * `<logDir>/<name>.log`, and resolves once it serves HTTP.
 * @throws {Error} with the log's tail when the process exits or does not listen in time
 */
export async function startController(o: StartControllerOptions): Promise<ControllerProcess> {
  mkdirSync(o.logDir, { recursive: true });
  const logFile = join(o.logDir, `${o.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawnSealbox(['controller', ...o.args], { stdio: ['ignore', fd, fd], ...(o.env === undefined ? {} : { env: o.env }) });
  closeSync(fd);
  const state = { exited: false };
  const exit = new Promise<void>((resolve) => child.once('exit', () => { state.exited = true; resolve(); }));
  const pid = child.pid ?? 0;
  guardChild(pid);

  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let url = '';
  while (url === '') {
    const line = parseLog(log()).find((r) => r.msg === 'http server listening');
    if (typeof line?.address === 'string') url = `http://${line.address}`;
    else if (state.exited || Date.now() > deadline) {
      if (!state.exited) child.kill('SIGKILL');
      throw new Error(`controller ${o.name} ${state.exited ? `exited (code ${String(child.exitCode)})` : 'did not listen in time'}; log tail:\n${log().slice(-3000)}`);
    } else await sleep(50);
  }
  return {
    name: o.name,
    pid,
    url,
    logFile,
    log,
    logRecords: () => parseLog(log()),
    alive: () => !state.exited,
    async kill(signal: NodeJS.Signals): Promise<void> {
      if (!state.exited) child.kill(signal);
      await exit;
    },
  };
}
