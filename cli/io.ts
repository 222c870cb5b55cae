import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SealboxError } from '../src/errors.js';
import { MAX_INPUT_BYTES } from '../src/format/yaml.js';

/** Reads a file, or standard input for `-`. Throws SealboxError('IO') naming the path. */
export async function readInput(path: string): Promise<Buffer> {
  if (path === '-') {
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
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'i/o error';
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
