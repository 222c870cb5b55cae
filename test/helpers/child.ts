// Running child processes, and feeding their stdin safely. A child may exit (or close its
// stdin) before it has read everything we send it: `sealbox` refusing its
// arguments, or a controller command that fails early. Node then reports
// EPIPE on the stdin stream; without a listener that is an unhandled error
// that fails the whole test run, long after the test that caused it.
import { spawn } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import type { Writable } from 'node:stream';

/** True for the errors a write to a pipe whose reader has gone raises. */
export function isClosedPipe(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_DESTROYED';
}

/**
 * Writes `input` to a child's stdin and closes it. A child that exits without
 * reading it all is not an error (its exit code and output tell what
 * happened); any other stream error goes to `onError`.
 */
export function feedStdin(stdin: Writable | null | undefined, input: string | Buffer, onError: (err: Error) => void): void {
  if (stdin === null || stdin === undefined) return;
  stdin.on('error', (err) => {
    if (!isClosedPipe(err)) onError(err);
  });
  stdin.end(input);
}

/**
 * Returns a `spawnSync` result after checking it: EPIPE (the child exited
 * before reading all of its input) is ignored, like in `feedStdin`.
 * @throws {Error} when the child could not be started or timed out
 */
export function checkedSync<T extends string | Buffer>(what: string, r: SpawnSyncReturns<T>): SpawnSyncReturns<T> {
  if (r.error !== undefined && !isClosedPipe(r.error)) throw new Error(`${what}: ${r.error.message}`, { cause: r.error });
  return r;
}

/** What a finished program did. */
export interface ProgramRun {
  /** the exit code; null when a signal (or the timeout) ended it */
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/**
 * Runs a program to the end without blocking the event loop, feeding `input`
 * to its stdin. Resolves for any exit code; kills it after `timeoutMs`.
 * @throws {Error} when it cannot be started or its stdin fails otherwise than a closed pipe
 */
export async function run(
  file: string, args: readonly string[], o: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const killer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(killer);
      reject(new Error(`${file}: ${e.message}`, { cause: e }));
    });
    child.once('close', (status) => {
      clearTimeout(killer);
      resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    feedStdin(child.stdin, o.input ?? '', (e) => {
      child.kill('SIGKILL');
      reject(new Error(`${file}: writing its stdin failed: ${e.message}`, { cause: e }));
    });
  });
}
