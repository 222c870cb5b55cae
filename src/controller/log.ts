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
