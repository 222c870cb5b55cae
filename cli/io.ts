import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SealboxError } from '../src/errors.js';
import { MAX_INPUT_BYTES } from '../src/format/yaml.js';

/** Readable reasons for the errno codes users meet. */
const REASONS: Readonly<Record<string, string>> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a folder; give a file' };

/**
 * What to tell a user whose standard input is a terminal, as kubeseal does:
 * otherwise the command seems to hang. Returns undefined when stdin is not
 * a terminal (a pipe or a file: nothing to say).
 */
export function terminalInputHint(isTTY: boolean | undefined): string | undefined {
  return isTTY === true ? '(tty detected: expecting a YAML or JSON Kubernetes manifest on stdin; end it with Ctrl-D, or pass -f FILE)\n' : undefined;
}

/** Reads a file, or standard input for `-`. Throws SealboxError('IO') naming the path. */
export async function readInput(path: string): Promise<Buffer> {
  if (path === '-') {
    const hint = terminalInputHint(process.stdin.isTTY);
    if (hint !== undefined) process.stderr.write(hint);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_INPUT_BYTES) throw new SealboxError('INPUT', `standard input: larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
      chunks.push(b);
    }
    return Buffer.concat(chunks);
  }
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new SealboxError('IO', `cannot read ${path}: ${REASONS.EISDIR ?? ''}`);
    if (st.size > MAX_INPUT_BYTES) throw new SealboxError('INPUT', `${path}: larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB`);
    return await readFile(path);
  } catch (err) {
    if (err instanceof SealboxError) throw err;
    throw ioError(err, `cannot read ${path}`);
  }
}

/** Reads a UTF-8 text input (file or `-`). */
export async function readText(path: string): Promise<string> {
  return (await readInput(path)).toString('utf8');
}

function ioError(err: unknown, what: string): SealboxError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = (code === undefined ? undefined : REASONS[code]) ?? code ?? 'i/o error';
  return new SealboxError('IO', `${what}: ${reason}`, { cause: err });
}

/**
 * Writes `content` to `path` atomically: into a temporary file in the same
 * folder (created with `mode`), flushed, then renamed over `path`. On any
 * failure the temporary file is removed and `path` is left as it was.
 * Throws SealboxError('IO').
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError(err, `cannot write ${path}`);
  }
}

/**
 * Exit code when standard output was closed before everything was written
 * (`sealbox … | head -1`): what a shell reports for a process that SIGPIPE
 * ended (128 + 13), so `set -o pipefail` still notices the cut output.
 */
export const CLOSED_OUTPUT_EXIT = 141;

/** True when `err` says the reader of a pipe or socket went away (EPIPE). */
export function isClosedOutput(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'EPIPE';
}

/** Writes output to `path`, or to standard output when `path` is undefined or `-`. */
export async function writeOutput(path: string | undefined, content: string, mode = 0o644): Promise<void> {
  if (path === undefined || path === '-') {
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(content, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    return;
  }
  await writeFileAtomic(path, content, mode);
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
