// The one way tests run the built CLI (dist/bundle/sealbox.js, what `npx
// sealbox` runs), as a user would: its own process, stdin, files, exit code.
//
//   sealbox(args, opts)       runs it to the end, synchronously;
//   sealboxAsync(args, opts)  the same without blocking this worker's event loop
//                             (needed when the CLI talks to a server in this process);
//   spawnSealbox(args, opts)  starts it and returns the child (to signal, kill or stream it);
//   ok(run)                   the run, or an Error with its stderr when it failed;
//   sealboxCommand()          the quoted shell words that run it, for a test that needs a shell
//                             (pipes, `script` for a terminal);
//   sealboxOnPath(dir)        a `sealbox` on a PATH, as `npm install -g` puts it.
//
// Every run gets this process's environment with KUBECONFIG emptied (no test
// reaches the developer's cluster by accident), then `opts.env` on top; an
// `undefined` value there removes the variable.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkedSync, run } from './child.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The built CLI the tests run: dist/ (`npm run build` makes it), or the file
 * named by SEALBOX_TEST_CLI (e.g. a deliberately broken build, to see a test fail).
 */
export const MAIN = process.env.SEALBOX_TEST_CLI ?? join(ROOT, 'dist', 'bundle', 'sealbox.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  if (process.env.SEALBOX_TEST_CLI !== undefined) return false;
  if (!existsSync(MAIN)) return true;
  return Math.max(newestSource(join(ROOT, 'src')), newestSource(join(ROOT, 'cli'))) > statSync(MAIN).mtimeMs;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Builds dist/ when it is missing or older than a source file, so the CLI
 * tests never run a stale binary. Test files run in parallel workers: a lock
 * folder lets one of them build while the others wait. The runners below call it.
 */
export function ensureBuilt(): void {
  const lock = join(tmpdir(), `sealbox-build-lock-${Buffer.from(ROOT).toString('hex').slice(-32)}`);
  for (let waited = 0; isStale(); waited += 200) {
    if (waited > 120_000) throw new Error(`gave up waiting for ${lock}; remove it if no build is running`);
    try {
      mkdirSync(lock);
    } catch {
      sleep(200);
      continue;
    }
    try {
      const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (!existsSync(MAIN)) throw new Error(`npm run build did not produce ${MAIN}:\n${r.stdout}${r.stderr}`);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
    return;
  }
}

/** What a run of the CLI did. */
export interface Run {
  /** `sealbox ARGS`, for messages */
  readonly command: string;
  /** the exit code; null when a signal (or the timeout) ended it */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

/** How to run the CLI. */
export interface SealboxOptions {
  /** working folder (default: the repository root) */
  readonly cwd?: string;
  /** stdin (default: empty) */
  readonly input?: string | Buffer;
  /** variables set (or, with `undefined`, removed) on top of this process's environment */
  readonly env?: NodeJS.ProcessEnv;
  /** killed after this long (default 120 s) */
  readonly timeoutMs?: number;
  /** options for node itself, before the script (e.g. `--import probe.mjs`) */
  readonly nodeArgs?: readonly string[];
  /** the node that runs it (default: the one running the tests) */
  readonly node?: string;
}

let built = false;

function argv(args: readonly string[], o: SealboxOptions): string[] {
  if (!built) ensureBuilt();
  built = true;
  return [...(o.nodeArgs ?? []), MAIN, ...args];
}

const envOf = (o: SealboxOptions): NodeJS.ProcessEnv => ({ ...process.env, KUBECONFIG: '', ...o.env });
const commandOf = (args: readonly string[]): string => `sealbox ${args.join(' ')}`;

/**
 * Runs `sealbox ARGS` to the end and returns what it did.
 * @throws {Error} when it could not be started (a non-zero exit is not an error)
 */
export function sealbox(args: readonly string[], o: SealboxOptions = {}): Run {
  const command = commandOf(args);
  const r = checkedSync(command, spawnSync(o.node ?? process.execPath, argv(args, o), {
    cwd: o.cwd ?? ROOT, input: o.input ?? '', env: envOf(o), timeout: o.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024,
  }));
  return { command, status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

/**
 * `sealbox` without blocking the event loop: for a CLI that talks to a server
 * running in the test's own process.
 * @throws {Error} when it could not be started (a non-zero exit is not an error)
 */
export async function sealboxAsync(args: readonly string[], o: SealboxOptions = {}): Promise<Run> {
  const command = commandOf(args);
  const r = await run(o.node ?? process.execPath, argv(args, o), { cwd: o.cwd ?? ROOT, input: o.input ?? '', env: envOf(o), timeoutMs: o.timeoutMs ?? 120_000 });
  return { command, status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

/** Starts `sealbox ARGS` and returns the child without waiting (stdin ignored, stdout and stderr piped, unless `stdio`). */
export function spawnSealbox(args: readonly string[], o: Omit<SealboxOptions, 'input' | 'timeoutMs'> & { stdio?: StdioOptions } = {}): ChildProcess {
  return spawn(o.node ?? process.execPath, argv(args, o), { cwd: o.cwd ?? ROOT, env: envOf(o), stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'] });
}

/**
 * Returns `r` when the CLI exited 0.
 * @throws {Error} with its exit status and stderr otherwise
 */
export function ok(r: Run): Run {
  if (r.status !== 0) throw new Error(`${r.command} exited ${String(r.status)}: ${r.stderr}`);
  return r;
}

/** The shell words (single-quoted) that run the built CLI: `'node' '.../sealbox.js'`. */
export function sealboxCommand(): string {
  ensureBuilt();
  return `'${process.execPath}' '${MAIN}'`;
}

/**
 * Puts the built CLI on a PATH as `sealbox`: a folder holding a two-line
 * wrapper script, as `npm install -g` would. Returns the folder.
 */
export function sealboxOnPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'sealbox'), `#!/bin/sh\nexec ${sealboxCommand()} "$@"\n`);
  chmodSync(join(bin, 'sealbox'), 0o755);
  return bin;
}

/** A fresh temporary folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sealbox-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Generates a 2048-bit key pair with `sealbox keygen` into `dir`; returns the paths. */
export function keygen(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.cert.pem`);
  ok(sealbox(['keygen', '--bits', '2048', '--key-out', key, '--cert-out', cert]));
  return { key, cert };
}
