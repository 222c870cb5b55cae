/**
 * The report, progress display and housekeeping of `sealbox rotate`.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorCode } from '../src/errors.js';
import type { GroupRotation } from '../src/format/rotate.js';

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

/**
 * Progress on stderr: a bar redrawn in place on a terminal; elsewhere one
 * line per file that changes or fails (nothing with `quiet`).
 */
export class Progress {
  readonly #total: number;
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #lines: boolean;
  #done = 0;

  constructor(total: number, out: NodeJS.WriteStream, lines: boolean) {
    this.#total = total;
    this.#out = out;
    this.#tty = out.isTTY;
    this.#lines = lines;
  }

  /** Counts one file (undefined: not a sealed file). */
  tick(report: FileReport | undefined): void {
    this.#done++;
    if (this.#tty) {
      const width = 30;
      const filled = this.#total === 0 ? width : Math.round((this.#done / this.#total) * width);
      this.#out.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${this.#done}/${this.#total} files`);
      return;
    }
    if (!this.#lines || report === undefined) return;
    if (report.status === 'rotated') this.#out.write(`rotated ${report.path}\n`);
    else if (report.status === 'needs-rotation') this.#out.write(`needs rotation: ${report.path}\n`);
    else if (report.status === 'failed') this.#out.write(`failed: ${report.path}: ${report.error?.message ?? ''}\n`);
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
