// Measuring processes: wall time and peak RSS of a whole command (GNU time,
// or /proc polling when /usr/bin/time is missing), and CPU seconds / RSS of
// a running process from /proc/<pid>.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const TIME = '/usr/bin/time';
export const haveGnuTime = existsSync(TIME) && spawnSync(TIME, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * Runs `cmd args` to completion and measures it as a whole: wall time from
 * spawn to exit, CPU time (user + system, in GNU time's 10 ms steps: average
 * many runs) and peak RSS (ru_maxrss of the command and the descendants it
 * waited for, as GNU time reports both; no CPU time without GNU time). stdin is `input` (string/Buffer),
 * stdout goes to `stdoutFile` (or is discarded).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ input?: string | Buffer, stdoutFile?: string, env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number }} [o]
 * @returns {Promise<{ wallMs: number, cpuMs?: number, maxRssKb: number, code: number | null, stderr: string }>}
 */
export async function measure(cmd, args, o = {}) {
  const out = o.stdoutFile === undefined ? 'ignore' : openSync(o.stdoutFile, 'w');
  try {
    if (haveGnuTime) {
      const dir = mkdtempSync(join(tmpdir(), 'sealbox-bench-time-'));
      const report = join(dir, 'time');
      try {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(TIME, ['-f', '%U %S %M', '-o', report, cmd, ...args], {
          input: o.input ?? '', stdio: ['pipe', out, 'pipe'], env: o.env ?? process.env, cwd: o.cwd,
          maxBuffer: 64 << 20, timeout: o.timeoutMs ?? 600_000,
        });
        const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const lines = existsSync(report) ? readFileSync(report, 'utf8').trim().split('\n') : [];
        // the last line (GNU time puts a "Command exited with non-zero status" line before it)
        const [user, sys, rss] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
        return { wallMs, cpuMs: (user + sys) * 1000, maxRssKb: rss, code: r.status, stderr: String(r.stderr ?? '') };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return await measureByPolling(cmd, args, o, out);
  } finally {
    if (typeof out === 'number') closeSync(out);
  }
}

/** Fallback without GNU time: polls VmHWM of the process (misses descendants). */
async function measureByPolling(cmd, args, o, out) {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['pipe', out, 'pipe'], env: o.env ?? process.env, cwd: o.cwd });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += String(c); });
  child.stdin.end(o.input ?? '');
  let peak = 0;
  let done = false;
  const exit = new Promise((resolve) => child.on('exit', (code) => { done = true; resolve(code); }));
  while (!done) {
    const s = procStatus(child.pid ?? 0);
    if (s !== undefined) peak = Math.max(peak, s.hwmKb);
    await sleep(2);
  }
  const code = await exit;
  return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6, maxRssKb: peak, code, stderr };
}

/**
 * CPU seconds (user + system, all threads) of a live process.
 * @param {number} pid
 * @returns {number | undefined}
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which is in parentheses and may contain spaces
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/**
 * VmRSS and VmHWM (peak RSS) of a live process, in KiB.
 * @param {number} pid
 * @returns {{ rssKb: number, hwmKb: number } | undefined}
 */
export function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Runs a command and returns its stdout; throws with stderr on failure. */
export function run(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} … failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').slice(-2000)}`);
  return r.stdout;
}

/** Runs a command without blocking; resolves with its stdout; rejects with stderr on failure. */
export function runAsync(cmd, args, o = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: o.env ?? process.env });
    const out = [];
    let err = '';
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => { err = (err + String(c)).slice(-4000); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} … failed (exit ${code}): ${err.slice(-2000)}`));
    });
    child.stdin.end(o.input ?? '');
  });
}
