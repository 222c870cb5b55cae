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

/** Handles one key; throws to ask for a retry with backoff. */
export type Handler = (key: string) => Promise<void>;

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

/** The namespace part of a "namespace/name" key. */
function namespaceOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/** FIFO per namespace; `shift` takes turns over the namespaces that have keys. */
class FairFifo {
  readonly #byNamespace = new Map<string, string[]>();
  /** Namespaces with waiting keys, in the order of their next turn. */
  #turns: string[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(key: string): void {
    const ns = namespaceOf(key);
    let fifo = this.#byNamespace.get(ns);
    if (fifo === undefined) {
      fifo = [];
      this.#byNamespace.set(ns, fifo);
      this.#turns.push(ns);
    }
    fifo.push(key);
    this.#length++;
  }

  /**
   * Takes the next key in turn among the namespaces `mayRun` accepts
   * (undefined when none); a skipped namespace keeps its turn.
   */
  shift(mayRun: (ns: string) => boolean = () => true): string | undefined {
    const at = this.#turns.findIndex(mayRun);
    if (at < 0) return undefined;
    const [ns] = this.#turns.splice(at, 1);
    if (ns === undefined) return undefined;
    const fifo = this.#byNamespace.get(ns) ?? [];
    const key = fifo.shift();
    if (fifo.length > 0) this.#turns.push(ns);
    else this.#byNamespace.delete(ns);
    if (key !== undefined) this.#length--;
    return key;
  }
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

  /** Forgets the backoff state of `key` (e.g. when its object is deleted). */
  forget(key: string): void {
    this.#failures.delete(key);
    const t = this.#timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(key);
    this.#depthChanged();
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
    while (!this.#stopped && this.#running < this.#opts.workers && this.#ready.length > 0) {
      const key = this.#ready.shift((ns) => (this.#inFlight.get(ns) ?? 0) === 0) ?? this.#ready.shift((ns) => (this.#inFlight.get(ns) ?? 0) < cap);
      if (key === undefined) break;
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
      if (this.#queued.size === 0 && this.#active.size === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
