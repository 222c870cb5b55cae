/**
 * The private side of `sealbox edit`: plaintext goes into a file readable by
 * the user only (0600, in a fresh 0700 folder), `$VISUAL`/`$EDITOR` edits it,
 * and the folder is removed whatever happens — editor failure, an error,
 * SIGTERM/SIGHUP, or the process exiting.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealboxError } from '../src/errors.js';

/** Signals that end an edit early; SIGINT is left to the editor (it owns the terminal). */
const ENDING: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
const SIGNAL_EXIT: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Writes `text` to a private temporary file, runs the editor on it and
 * returns the text saved. Throws SealboxError('IO') when the editor cannot
 * start or exits with a failure. The temporary folder is gone when this
 * returns or throws; on SIGTERM/SIGHUP the editor is stopped, the folder
 * removed and the process exits (143/129).
 */
export async function editPrivately(text: string, fileName: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sealbox-edit-'));
  const removeNow = (): void => {
    rmSync(dir, { recursive: true, force: true });
  };
  // A last resort: an exit from anywhere (process.exit, an uncaught error) still removes it.
  process.once('exit', removeNow);
  try {
    const file = join(dir, fileName);
    const fh = await open(file, 'wx', 0o600);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    await runEditor(file, env, removeNow);
    return await readFile(file, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
    process.off('exit', removeNow);
  }
}

function runEditor(file: string, env: NodeJS.ProcessEnv, removeNow: () => void): Promise<void> {
  const editor = env.VISUAL ?? env.EDITOR ?? 'vi';
  return new Promise<void>((resolve, reject) => {
    // As git does: the editor string may carry arguments ("code --wait").
    // exec: the editor replaces the shell, so stopping the child stops the editor.
    const child = spawn('/bin/sh', ['-c', `exec ${editor} "$1"`, editor, file], { stdio: 'inherit', env });
    const onEnding = (sig: NodeJS.Signals): void => {
      child.kill('SIGTERM');
      removeNow();
      process.exit(SIGNAL_EXIT[sig] ?? 1);
    };
    const ignoreInterrupt = (): void => undefined; // Ctrl-C reaches the editor too; it decides
    for (const s of ENDING) process.on(s, onEnding);
    process.on('SIGINT', ignoreInterrupt);
    const done = (): void => {
      for (const s of ENDING) process.off(s, onEnding);
      process.off('SIGINT', ignoreInterrupt);
    };
    child.on('error', (err) => {
      done();
      reject(new SealboxError('IO', `cannot start the editor "${editor}": ${err.message}; set $EDITOR`, { cause: err }));
    });
    child.on('exit', (code, signal) => {
      done();
      if (code === 0) resolve();
      else reject(new SealboxError('IO', `the editor "${editor}" ${signal === null ? `exited with status ${String(code)}` : `was stopped by ${signal}`}; nothing was written`));
    });
  });
}
