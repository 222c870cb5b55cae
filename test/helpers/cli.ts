import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkedSync } from './child.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI, as `npx sealbox` runs it. */
export const MAIN = join(ROOT, 'dist', 'bundle', 'sealbox.js');

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
  if (!existsSync(MAIN)) return true;
  return Math.max(newestSource(join(ROOT, 'src')), newestSource(join(ROOT, 'cli'))) > statSync(MAIN).mtimeMs;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Builds dist/ when it is missing or older than a source file, so the CLI
 * tests never run a stale binary. Test files run in parallel workers: a lock
 * folder lets one of them build while the others wait.
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
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

/** Runs `sealbox ARGS` as a user would: the built binary, in `cwd`, with `input` on stdin. */
export function sealbox(args: readonly string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const env = opts.env === undefined ? undefined : { ...process.env, ...opts.env };
  const r = checkedSync(`sealbox ${args.join(' ')}`, spawnSync(process.execPath, [MAIN, ...args], { cwd: opts.cwd ?? ROOT, input: opts.input ?? '', timeout: 60_000, env }));
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
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
  const r = sealbox(['keygen', '--bits', '2048', '--key-out', key, '--cert-out', cert]);
  if (r.status !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  return { key, cert };
}
