// Running the built CLI as a user would, and reading `git diff` of the files
// it rewrites.
import { execFile } from 'node:child_process';
import { feedStdin } from '../helpers/child.js';
import { CLI } from './process.js';

/** What a finished command printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; resolves with its exit code and output (never rejects for a non-zero exit). */
export async function run(file: string, args: readonly string[], opts: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { cwd: opts.cwd, env: { ...process.env, KUBECONFIG: '' }, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`${file}: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
    // a child that exits before reading its input is not an error; its code says what happened
    feedStdin(child.stdin, opts.input ?? '', (err) => {
      child.kill();
      reject(new Error(`${file}: writing its stdin failed: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * Runs `sealbox ARGS` from dist/.
 * @throws {Error} with its stderr when it exits non-zero
 */
export async function sealbox(args: readonly string[], opts: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  const res = await run(process.execPath, [CLI, ...args], opts);
  if (res.code !== 0) throw new Error(`sealbox ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
  return res;
}

/** Line numbers (1-based) of a hunk side in `git diff --unified=0`. */
export interface DiffLines {
  readonly removed: number[];
  readonly added: number[];
}

/**
 * Returns the lines `git diff --no-index --unified=0 before after` reports
 * removed from `before` and added in `after`.
 * @throws {Error} when git fails (exit code other than 0 or 1)
 */
export async function gitDiffLines(before: string, after: string): Promise<DiffLines & { text: string }> {
  const res = await run('git', ['diff', '--no-index', '--no-color', '--unified=0', before, after]);
  if (res.code !== 0 && res.code !== 1) throw new Error(`git diff failed (${res.code}): ${res.stderr}`);
  const removed: number[] = [];
  const added: number[] = [];
  for (const m of res.stdout.matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
    const span = (start: string | undefined, count: string | undefined): number[] =>
      Array.from({ length: count === undefined ? 1 : Number(count) }, (_, i) => Number(start) + i);
    removed.push(...span(m[1], m[2]));
    added.push(...span(m[3], m[4]));
  }
  return { removed, added, text: res.stdout };
}

/**
 * Returns the 1-based numbers of the lines inside every YAML block whose key
 * is `key:` (the key's own line excluded): the lines after it that are
 * indented deeper than it.
 */
export function blockLines(yamlText: string, key: string): Set<number> {
  const lines = yamlText.split('\n');
  const out = new Set<number>();
  const indent = (l: string): number => l.length - l.trimStart().length;
  lines.forEach((line, i) => {
    if (line.trim() !== `${key}:`) return;
    const own = indent(line);
    for (let j = i + 1; j < lines.length && (lines[j]?.trim() === '' || indent(lines[j] ?? '') > own); j++) out.add(j + 1);
  });
  return out;
}
