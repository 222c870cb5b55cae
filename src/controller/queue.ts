/**
 * A work queue keyed by object ("namespace/name"): a key waits at most once,
 * is never processed by two workers at a time, and a key that fails comes
 * back after a capped exponential backoff — forever, never dropped.
 */

/** Handles one key; throws to ask for a retry with backoff. */
export type Handler = (key: string) => Promise<void>;

/** Options of WorkQueue. */
export interface QueueOptions {
  readonly workers: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Called when a handler throws, with the attempt number and the delay chosen. */
  readonly onRetry?: (key: string, err: unknown, attempt: number, delayMs: number) => void;
}

/** Work queue with dedupe, per-key backoff and N concurrent workers. */
export class WorkQueue {
  readonly #opts: QueueOptions;
  readonly #handler: Handler;
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  /** Keys added again while being processed: run once more after. */
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #running = 0;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(handler: Handler, opts: QueueOptions) {
    this.#handler = handler;
    this.#opts = opts;
  }

  /** Enqueues `key` now; cancels a pending retry of it. */
  add(key: string): void {
    if (this.#stopped) return;
    const t = this.#timers.get(key);
    if (t !== undefined) {
      clearTimeout(t);
      this.#timers.delete(key);
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#ready.push(key);
    this.#pump();
  }

  /** Forgets the backoff state of `key` (e.g. when its object is deleted). */
  forget(key: string): void {
    this.#failures.delete(key);
    const t = this.#timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(key);
  }

  /** Number of keys waiting, running or scheduled for retry. */
  get size(): number {
    return this.#queued.size + this.#active.size + this.#timers.size;
  }

  /** Resolves when nothing is queued or running (retries may still be scheduled). */
  async idle(): Promise<void> {
    if (this.#queued.size === 0 && this.#active.size === 0) return;
    await new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  /** Stops taking work; running handlers finish. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#opts.workers && this.#ready.length > 0) {
      const key = this.#ready.shift();
      if (key === undefined) break;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#running++;
      void this.#run(key);
    }
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#handler(key);
      this.#failures.delete(key);
    } catch (err) {
      const attempt = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, attempt);
      let exp = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
      // A handler may know it should look again sooner (e.g. waiting for a user's annotation).
      const hint = err instanceof Error ? (err as Error & { retryAfterMs?: unknown }).retryAfterMs : undefined;
      if (typeof hint === 'number') exp = Math.min(exp, hint);
      // Jitter spreads retries of many keys failing together (an outage).
      const delay = Math.round(exp * (0.8 + Math.random() * 0.4));
      this.#opts.onRetry?.(key, err, attempt, delay);
      if (!this.#stopped && !this.#dirty.has(key)) {
        this.#timers.set(
          key,
          setTimeout(() => {
            this.#timers.delete(key);
            this.add(key);
          }, delay),
        );
      }
    } finally {
      this.#active.delete(key);
      this.#running--;
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
      if (this.#queued.size === 0 && this.#active.size === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
