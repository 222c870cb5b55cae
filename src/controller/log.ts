import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logger on stdout. Callers log names, ids and reasons only — never
 * values, data keys or private keys; error objects are logged by message.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { component: 'sealbox-controller' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * Lets through at most `perWindow` log lines per key (a resource) in each
 * window, and counts the rest, so a resource that fails on every retry, or
 * is patched in a loop, cannot fill the logs (issue 11, item 6a). Memory is
 * bounded: at most `maxKeys` keys are tracked, the stalest dropped first.
 */
export class LogLimiter {
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, { start: number; lines: number; suppressed: number }>();

  constructor(perWindow = 5, windowMs = 60_000, maxKeys = 10_000) {
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Returns undefined when the line must be dropped; otherwise the number of
   * lines dropped for `key` since the last one let through (log it with the line).
   */
  allow(key: string, now = Date.now()): number | undefined {
    let w = this.#windows.get(key);
    if (w === undefined || now - w.start >= this.#windowMs) {
      const suppressed = w?.suppressed ?? 0;
      this.#windows.delete(key); // re-insert at the end: the map's order is the age order
      w = { start: now, lines: 0, suppressed };
      this.#windows.set(key, w);
      for (const k of this.#windows.keys()) {
        if (this.#windows.size <= this.#maxKeys) break;
        this.#windows.delete(k);
      }
    }
    if (w.lines >= this.#perWindow) {
      w.suppressed++;
      return undefined;
    }
    w.lines++;
    const dropped = w.suppressed;
    w.suppressed = 0;
    return dropped;
  }
}

/** How often the controller logs the Secrets synced meanwhile (SyncTally). */
export const SYNC_TALLY_MS = 10_000;

/**
 * One info line, `secrets synced`, with how many Secrets were created,
 * updated and re-created since the last line: at a cold start of thousands
 * of resources one line per Secret was a measurable share of the
 * controller's CPU (docs/BENCHMARKS.md, "CPU floor"), so the per-Secret line
 * is at debug level and the controller reports this tally every
 * SYNC_TALLY_MS from its reconcile counters.
 */
export class SyncTally {
  readonly #log: Logger;
  #last = new Map<string, number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Logs the growth of each running total since the previous call, by
   * result, with their sum; logs nothing when none grew.
   */
  report(totals: ReadonlyMap<string, number>): void {
    const grown: Record<string, number> = {};
    let total = 0;
    for (const [result, n] of totals) {
      const d = n - (this.#last.get(result) ?? 0);
      if (d > 0) grown[result] = d;
      total += Math.max(0, d);
    }
    this.#last = new Map(totals);
    if (total > 0) this.#log.info({ ...grown, total }, 'secrets synced');
  }
}
