/**
 * The report, progress display and housekeeping of `sealbox rotate`.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorCode } from '../src/errors.js';
import type { GroupRotation } from '../src/format/rotate.js';
import { printable } from './terminal.js';

/** One sealed resource of a file in the report. */
export interface ResourceReport {
  readonly name: string;
  readonly namespace: string;
  /** Groups that change (or would). */
  groups: readonly GroupRotation[];
  newDataKey?: { readonly group: string; readonly replaced: readonly string[] } | undefined;
}

/** One file in the report (`--output json`). */
export interface FileReport {
  readonly path: string;
  /** rotated: written; needs-rotation: would change (--dry-run, --check); skipped: no rule; failed: see error. */
  readonly status: 'rotated' | 'unchanged' | 'needs-rotation' | 'skipped' | 'failed';
  readonly resources: ResourceReport[];
  readonly reason?: string;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** Totals of a run. */
export interface RotationSummary {
  readonly files: number;
  readonly sealedFiles: number;
  readonly rotated: number;
  readonly needsRotation: number;
  readonly unchanged: number;
  readonly skipped: number;
  readonly failed: number;
  /** True when a signal stopped the run early; run it again to finish. */
  readonly interrupted: boolean;
}

/** Counts the reports. */
export function summarize(reports: readonly FileReport[], files: number, interrupted: boolean): RotationSummary {
  const count = (s: FileReport['status']): number => reports.filter((r) => r.status === s).length;
  return {
    files, sealedFiles: reports.length, rotated: count('rotated'), needsRotation: count('needs-rotation'),
    unchanged: count('unchanged'), skipped: count('skipped'), failed: count('failed'), interrupted,
  };
}

/** The closing line of a text-mode run. */
export function textLine(s: RotationSummary, wrote: boolean, check: boolean): string {
  const changed = wrote ? `${s.rotated} rotated` : `${s.needsRotation} ${check ? 'need' : 'would need'} rotation`;
  const parts = [changed, `${s.unchanged} unchanged`];
  if (s.skipped > 0) parts.push(`${s.skipped} skipped (no .sealbox.yaml rule)`);
  if (s.failed > 0) parts.push(`${s.failed} failed`);
  const tail = s.interrupted ? '; interrupted: run the same command again to finish' : '';
  return `${parts.join(', ')} of ${s.sealedFiles} sealed file(s)${tail}`;
}

const LISTED: readonly { status: FileReport['status']; title: string }[] = [
  { status: 'rotated', title: 'rotated' },
  { status: 'needs-rotation', title: 'need rotation' },
  { status: 'skipped', title: 'skipped (no .sealbox.yaml rule matches)' },
];

/**
 * The text report: the files that changed, need rotation or were skipped,
 * grouped by outcome and sorted by path (unchanged files are only counted,
 * in the closing line; failures go to stderr, see errorLines). Empty when
 * there is nothing to list.
 */
export function textReport(reports: readonly FileReport[]): string {
  const sorted = [...reports].sort((a, b) => a.path.localeCompare(b.path));
  const out: string[] = [];
  for (const { status, title } of LISTED) {
    const group = sorted.filter((r) => r.status === status);
    if (group.length === 0) continue;
    out.push(`${title} (${group.length}):`);
    for (const r of group) out.push(`  ${printable(r.path, 2000)}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** `FILE: message`, or the message alone when it starts by naming the file (`FILE document 1 …`). */
function namingFile(path: string, message: string): string {
  return message.startsWith(`${path} `) || message.startsWith(`${path}:`) ? message : `${path}: ${message}`;
}

/** One `error: …` line per failed file, naming the file once, sorted by path. */
export function errorLines(reports: readonly FileReport[]): string {
  const failed = reports.filter((r) => r.error !== undefined).map((r) => `error: ${printable(namingFile(r.path, r.error?.message ?? ''), 2000)}`);
  return failed.length === 0 ? '' : `${failed.sort().join('\n')}\n`;
}

/** Progress on stderr: a bar redrawn in place on a terminal; nothing elsewhere. */
export class Progress {
  readonly #total: number;
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #done = 0;

  constructor(total: number, out: NodeJS.WriteStream, show: boolean) {
    this.#total = total;
    this.#out = out;
    this.#tty = show && out.isTTY;
  }

  /** Counts one file. */
  tick(): void {
    this.#done++;
    if (!this.#tty) return;
    const width = 30;
    const filled = this.#total === 0 ? width : Math.round((this.#done / this.#total) * width);
    this.#out.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${this.#done}/${this.#total} files`);
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.#tty && this.#done > 0) this.#out.write('\n');
  }
}

// What writeFileAtomic names its temporary files: `.NAME.12HEX.tmp`.
const TEMPORARY = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary files an interrupted run (killed between writing
 * and renaming) left beside the files it was rotating, in `dirs`.
 */
export async function removeStaleTemporaries(dirs: ReadonlySet<string>): Promise<void> {
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const present = new Set(names);
    for (const n of names) {
      const m = TEMPORARY.exec(n);
      if (m !== null && present.has(m[1] ?? '')) await unlink(join(dir, n)).catch(() => undefined);
    }
  }
}
