/**
 * What `git commit` is about to record: the staged blobs of git's index, for
 * `sealbox verify --staged`. Reads blobs, never the working tree, so a file
 * sealed after `git add` is checked as it was added.
 */
import { execFile } from 'node:child_process';
import { SealboxError } from '../src/errors.js';
import { MAX_INPUT_BYTES } from '../src/format/yaml.js';

/** One staged file: its path relative to the repository's top folder and its staged content. */
export interface StagedFile {
  readonly path: string;
  readonly text: string;
}

/** Runs git in `cwd` (inheriting GIT_INDEX_FILE and friends, as a hook must); returns stdout. */
function git(args: readonly string[], cwd: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, encoding: 'buffer', maxBuffer: MAX_INPUT_BYTES + 1 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve(stdout);
        return;
      }
      const reason = stderr.toString('utf8').split('\n')[0]?.trim() ?? '';
      reject(new SealboxError('IO', `git ${args[0] ?? ''} failed: ${reason === '' ? err.message : reason}`, { cause: err }));
    });
  });
}

/** Regular files only: symlinks (120000) and submodules (160000) hold no manifest. */
const REGULAR_FILE = /^100(644|755)$/;

/**
 * Parses `git diff --cached --raw -z` output into [blob id, path] pairs of
 * added, copied or modified regular files (deletes are not listed: the
 * diff is asked for with --diff-filter=ACM).
 */
export function parseRawDiff(raw: string): [string, string][] {
  const fields = raw.split('\0');
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [, newMode = '', , blob = ''] = (fields[i] ?? '').slice(1).split(' ');
    if (REGULAR_FILE.test(newMode)) out.push([blob, fields[i + 1] ?? '']);
  }
  return out;
}

/**
 * Returns the repository's top folder and the staged content of every
 * added, copied or modified file whose path `wanted` accepts. Throws
 * SealboxError('INPUT') outside a git repository, ('IO') when git fails.
 */
export async function stagedFiles(cwd: string, wanted: (path: string) => boolean): Promise<{ top: string; files: StagedFile[] }> {
  const top = await git(['rev-parse', '--show-toplevel'], cwd).then(
    (b) => b.toString('utf8').trim(),
    (cause: unknown) => {
      throw new SealboxError('INPUT', `verify --staged: ${cwd} is not inside a git repository; run it from one (e.g. in its pre-commit hook)`, { cause });
    },
  );
  // --no-renames: a renamed file is checked as an added one.
  const raw = await git(['diff', '--cached', '--raw', '-z', '--no-renames', '--no-abbrev', '--diff-filter=ACM'], top);
  const files: StagedFile[] = [];
  for (const [blob, path] of parseRawDiff(raw.toString('utf8'))) {
    if (!wanted(path)) continue;
    const content = await git(['cat-file', 'blob', blob], top);
    files.push({ path, text: content.toString('utf8') });
  }
  return { top, files };
}
