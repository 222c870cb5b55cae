/**
 * A work queue keyed by object ("namespace/name"): a key waits at most once,
 * is never processed by two workers at a time, and a key that fails comes
 * back after a capped exponential backoff — forever, never dropped.
 *
 * Waiting keys are served fairly across namespaces: one FIFO per namespace,
 * and the workers take turns over the namespaces that have work (round
 * robin). A namespace with thousands of keys waiting delays another
 * namespace's next key by at most one turn, not by its whole backlog. A
 * namespace never holds every worker (at most workers - 1), so one whose
 * reconciles hang cannot make another wait for them.
 */

import { FairFifo, namespaceOf } from './fair-fifo.js';

/** Handles one key; throws to ask for a retry with backoff. */
export type Handler = (key: string) => Promise<void>;

/** A namespace's part of a sweep (WorkQueue.sweep): its keys, read lazily, and how many there are at most. */
export interface SweepGroup {
  readonly namespace: string;
  readonly keys: Iterable<string>;
  readonly count: number;
}

/** Options of WorkQueue. */
export interface QueueOptions {
  readonly workers: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Called when a handler throws, with the attempt number and the delay chosen. */
  readonly onRetry?: (key: string, err: unknown, attempt: number, delayMs: number) => void;
  /** Called with `size` whenever it may have changed (keeps a depth gauge live). */
  readonly onDepth?: (size: number) => void;
}

/** The backoff hints a handler's error may carry. */
interface RetryHints {
  /** Look again after at most this long, whatever the backoff says. */
  readonly retryAfterMs?: unknown;
  /** Back off from this delay instead of the queue's base (a slow, growing poll). */
  readonly retryBaseMs?: unknown;
}

/**
 * The delay before retrying a key after its `attempt`-th failure in a row
 * with `err`: exponential from the queue's base (or the error's
 * `retryBaseMs`), capped by `maxDelayMs` and by the error's `retryAfterMs`,
 * with ±20 % jitter drawn from `random`.
 */
export function retryDelay(err: unknown, attempt: number, opts: Pick<QueueOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const hints: RetryHints = err instanceof Error ? (err as Error & RetryHints) : {};
  const base = typeof hints.retryBaseMs === 'number' ? hints.retryBaseMs : opts.baseDelayMs;
  let exp = Math.min(opts.maxDelayMs, base * 2 ** Math.min(attempt - 1, 30));
  // A handler may know it should look again sooner (e.g. waiting for a user's annotation).
  if (typeof hints.retryAfterMs === 'number') exp = Math.min(exp, hints.retryAfterMs);
  // Jitter spreads retries of many keys failing together (an outage).
  return Math.round(exp * (0.8 + random() * 0.4));
}

/** Work queue with dedupe, per-key backoff, per-namespace fairness and N concurrent workers. */
export class WorkQueue {
  readonly #opts: QueueOptions;
  readonly #handler: Handler;
  readonly #ready = new FairFifo();
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  /** Keys running per namespace. */
  readonly #inFlight = new Map<string, number>();
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
    this.#enqueue(key);
    this.#pump();
  }

  /**
   * Enqueues `key` for a periodic re-check, unless it is waiting out a
   * backoff: a resync must not cut short the backoff of a failing key.
   */
  resync(key: string): void {
    if (this.#timers.has(key)) return;
    this.add(key);
  }

  /**
   * Enqueues every key of `groups` (each a namespace, its keys and their
   * count), as add() (`now`) or resync() would, but lazily: a key is made
   * and looked at only when its namespace's turn comes (FairFifo), so a
   * resync or the enqueue of every resource at the end of the initial list
   * does not hold a key string and three collections' places for each of
   * 100,000 at once (8.7-9.2 MiB of heap, against 1.1-1.2 for a sweep;
   * issue 17 §1).
   * A namespace's keys are read when taken (e.g. whether this replica still
   * owns its shard). A pass still running in a namespace goes on to its end
   * and this one follows it: every key is reached, however often sweeps come.
   */
  sweep(groups: Iterable<SweepGroup>, now: boolean): void {
    if (this.#stopped) return;
    for (const g of groups) this.#ready.sweep(g.namespace, g.keys, now, g.count);
    this.#pump();
  }

  #enqueue(key: string): void {
    const t = this.#timers.get(key);
    if (t !== undefined) {
      clearTimeout(t);
      this.#timers.delete(key);
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (!this.#queued.has(key)) {
      this.#queued.add(key);
      this.#ready.push(key);
    }
  }

  /** Whether a key a sweep yields runs now: as add() (`now`) or resync() of it would enqueue it. */
  #admit(key: string, now: boolean): boolean {
    if (this.#queued.has(key)) return false; // it waits in its lane already
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return false;
    }
    const t = this.#timers.get(key);
    if (t === undefined) return true;
    if (!now) return false; // a resync waits out the backoff
    clearTimeout(t);
    this.#timers.delete(key);
    return true;
  }

  /** Forgets the backoff state of `key` (e.g. when its object is deleted). */
  forget(key: string): void {
    this.#failures.delete(key);
    const t = this.#timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(key);
    this.#depthChanged();
  }

  /** Number of keys waiting (in sweeps too), running or scheduled for retry. */
  get size(): number {
    return this.#queued.size + this.#active.size + this.#timers.size + this.#ready.swept;
  }

  /** Resolves when nothing is queued, swept or running (retries may still be scheduled). */
  async idle(): Promise<void> {
    if (this.#queued.size === 0 && this.#active.size === 0 && this.#ready.empty) return;
    await new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  /** Stops taking work; running handlers finish. */
  stop(): void {
    this.#stopped = true;
    this.#ready.dropSweeps();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#depthChanged();
  }

  #depthChanged(): void {
    this.#opts.onDepth?.(this.size);
  }

  #pump(): void {
    // One namespace holds at most workers - 1 workers, and a namespace with
    // none running goes first: a namespace whose reconciles hang (KMS stanzas
    // naming a host that never answers) cannot hold every worker while
    // another namespace waits.
    const cap = Math.max(1, this.#opts.workers - 1);
    while (!this.#stopped && this.#running < this.#opts.workers) {
      const turn = this.#ready.shift((ns) => (this.#inFlight.get(ns) ?? 0) === 0) ?? this.#ready.shift((ns) => (this.#inFlight.get(ns) ?? 0) < cap);
      if (turn === undefined) break;
      const { key } = turn;
      if (turn.swept && !this.#admit(key, turn.now)) continue;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#running++;
      const ns = namespaceOf(key);
      this.#inFlight.set(ns, (this.#inFlight.get(ns) ?? 0) + 1);
      void this.#run(key);
    }
    this.#depthChanged();
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#handler(key);
      this.#failures.delete(key);
    } catch (err) {
      const attempt = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, attempt);
      const delay = retryDelay(err, attempt, this.#opts);
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
      const ns = namespaceOf(key);
      const n = (this.#inFlight.get(ns) ?? 1) - 1;
      if (n === 0) this.#inFlight.delete(ns);
      else this.#inFlight.set(ns, n);
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
      if (this.#queued.size === 0 && this.#active.size === 0 && this.#ready.empty) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
