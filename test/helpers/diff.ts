import { run } from './child.js';

/** Lines removed from `before` and added in `after`, by longest common subsequence (like `git diff`). */
export function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  // lcs[i][j]: length of the LCS of a[i..] and b[j..]
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] ?? [];
      row[j] = a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) {
      added.push(b[j++] ?? '');
    } else {
      removed.push(a[i++] ?? '');
    }
  }
  return { removed, added };
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
  if (res.status !== 0 && res.status !== 1) throw new Error(`git diff failed (${String(res.status)}): ${res.stderr.toString('utf8')}`);
  const text = res.stdout.toString('utf8');
  const removed: number[] = [];
  const added: number[] = [];
  for (const m of text.matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
    const span = (start: string | undefined, count: string | undefined): number[] =>
      Array.from({ length: count === undefined ? 1 : Number(count) }, (_, i) => Number(start) + i);
    removed.push(...span(m[1], m[2]));
    added.push(...span(m[3], m[4]));
  }
  return { removed, added, text };
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
