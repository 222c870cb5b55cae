// Runs the built CLI as a user would and measures what each run cost: wall
// time and peak resident memory (through rss-probe.mjs, preloaded).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { feedStdin } from '../helpers/child.js';
import { spawnSealbox } from '../helpers/cli.js';

const PROBE = fileURLToPath(new URL('./rss-probe.mjs', import.meta.url));

/** What one measured run of the CLI did and cost. */
export interface MeasuredRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** wall-clock milliseconds from spawn to exit */
  readonly ms: number;
  /** peak resident set size in MiB; NaN when the process died before reporting */
  readonly maxRssMb: number;
}

/** Options of runMeasured. */
export interface MeasureOptions {
  readonly cwd?: string;
  readonly input?: string | Buffer;
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the process after this long (default 60 s). */
  readonly timeoutMs?: number;
}

/**
 * Runs `sealbox ARGS` (dist/bundle/sealbox.js) with the probe preloaded and
 * returns its exit status, output, wall time and peak RSS.
 */
export async function runMeasured(args: readonly string[], o: MeasureOptions = {}): Promise<MeasuredRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sealbox-measure-'));
  const probeOut = join(dir, 'probe.json');
  try {
    const started = process.hrtime.bigint();
    const child = spawnSealbox(args, { nodeArgs: ['--import', PROBE], cwd: o.cwd, env: { ...o.env, SEALBOX_PROBE_OUT: probeOut }, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let stdinError: Error | undefined;
    feedStdin(child.stdin, o.input ?? '', (err) => {
      stdinError = err;
      child.kill('SIGKILL');
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    const status = await new Promise<number | null>((resolve) => child.once('close', (code) => { resolve(code); }));
    clearTimeout(killer);
    if (stdinError !== undefined) throw new Error(`sealbox ${args.join(' ')}: writing its stdin failed: ${stdinError.message}`, { cause: stdinError });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    let maxRssMb = Number.NaN;
    try {
      maxRssMb = (JSON.parse(readFileSync(probeOut, 'utf8')) as { maxRssKb: number }).maxRssKb / 1024;
    } catch {
      // killed before the exit handler ran
    }
    return { status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms, maxRssMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
