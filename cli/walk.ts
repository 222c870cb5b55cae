import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { SealboxError } from '../src/errors.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const SKIP_DIRS = new Set(['.git', 'node_modules', '.cache']);

/**
 * Yields `path` if it is a file, else every .yaml/.yml/.json file below it
 * in name order, skipping .git, node_modules and .cache.
 * Throws SealboxError('IO') when `path` does not exist.
 */
export async function* walkManifests(path: string): AsyncGenerator<string> {
  const st = await stat(path).catch((cause: unknown) => {
    throw new SealboxError('IO', `cannot read ${path}: no such file or folder`, { cause });
  });
  if (st.isFile()) {
    yield path;
    return;
  }
  if (!st.isDirectory()) return;
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) yield* walkManifests(join(path, e.name));
    else if (e.isFile() && MANIFEST_EXTENSIONS.has(extname(e.name))) yield join(path, e.name);
  }
}
