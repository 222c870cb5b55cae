/**
 * The files `sealbox verify` checks: the paths it is given (or git's staged
 * blobs with --staged), less --exclude patterns, with template files
 * (Helm charts) set aside as skipped because they are not manifests yet.
 */
import { stat } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import { readText } from './io.js';
import { matchesGlob } from './config-glob.js';
import { stagedFiles } from './git-staged.js';
import { walkManifests } from './walk.js';

/** One file to check: the path reported, where it lies on disk, and how to read it. */
export interface Target {
  readonly path: string;
  readonly diskPath: string;
  readonly read: () => Promise<string>;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * True when `path` is excluded by one of `patterns` (globs as in
 * `.sealbox.yaml`): a pattern matches the path or one of its folders; a
 * pattern without `/` also matches any single file or folder name in it.
 */
export function isExcluded(path: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  const parts = path.split(sep).join('/').replace(/^(\.\/)+/, '').split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  return patterns.some((raw) => {
    const p = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    if (prefixes.some((prefix) => matchesGlob(prefix, p))) return true;
    return !p.includes('/') && parts.some((name) => matchesGlob(name, p));
  });
}

/** Yields the files below `paths` (or the staged ones) that no pattern of `exclude` excludes. */
export async function* verifyTargets(paths: readonly string[], staged: boolean, exclude: readonly string[]): AsyncGenerator<Target> {
  if (staged) {
    const wanted = (p: string): boolean => MANIFEST_EXTENSIONS.has(extname(p)) && !isExcluded(p, exclude);
    const { top, files } = await stagedFiles(process.cwd(), wanted);
    for (const f of files) yield { path: f.path, diskPath: join(top, f.path), read: () => Promise.resolve(f.text) };
    return;
  }
  for (const p of paths) {
    for await (const file of walkManifests(p)) {
      if (!isExcluded(file, exclude)) yield { path: file, diskPath: file, read: () => readText(file) };
    }
  }
}

/**
 * Why `diskPath` is a template rather than a manifest, or undefined: a file
 * below the `templates/` folder of a Helm chart (a folder with Chart.yaml).
 */
export async function chartTemplateReason(diskPath: string): Promise<string | undefined> {
  for (let dir = dirname(diskPath); dir !== dirname(dir); dir = dirname(dir)) {
    if (dir.split(sep).pop() !== 'templates') continue;
    const chart = await stat(join(dirname(dir), 'Chart.yaml')).catch(() => undefined);
    if (chart?.isFile() === true) return 'Helm chart template';
  }
  return undefined;
}
