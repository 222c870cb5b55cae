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

/** Keys a sweep keeps waiting per worker (WorkQueue.sweep). */
const SWEEP_READY_PER_WORKER = 4;

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

/** A sweep (WorkQueue.sweep): keys still to be enqueued, a few at a time. */
interface Sweep {
  readonly keys: Iterator<string>;
  /** Cut a pending backoff short (add) rather than respect it (resync). */
  now: boolean;
  /** Keys not yet taken, for `size` (an estimate when `keys` skips some). */
  left: number;
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
  /** Sweeps by id, taken from in insertion order when few keys wait. */
  readonly #sweeps = new Map<string, Sweep>();
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
   * Enqueues every key `keys` yields, as add() (`now`) or resync() would,
   * but only as workers need them: a few wait in the queue at a time, and
   * the rest stay in the iterator. Enqueuing 100,000 keys at once (a
   * resync, the end of the initial list) held a key string and its place
   * in three collections for each, ~11 MB at once, the peak of the resident
   * set (issue 17 §1). `keys` is read lazily: what it yields is decided
   * when it is taken (e.g. whether this replica still owns the shard).
   *
   * A sweep replaces the unfinished one of the same `id`, which it covers
   * (it starts from the first key again); `now` stays set if either had it.
   * `count`: how many keys `keys` yields at most, for `size`.
   */
  sweep(id: string, keys: Iterable<string>, now: boolean, count: number): void {
    if (this.#stopped) return;
    const old = this.#sweeps.get(id);
    this.#sweeps.delete(id);
    this.#sweeps.set(id, { keys: keys[Symbol.iterator](), now: now || old?.now === true, left: count });
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

  /** Takes keys from the sweeps until a few more than the workers wait, or the sweeps are done. */
  #topUp(): void {
    const want = SWEEP_READY_PER_WORKER * this.#opts.workers;
    for (const [id, s] of this.#sweeps) {
      while (this.#ready.length < want) {
        const r = s.keys.next();
        if (r.done === true) break;
        s.left = Math.max(0, s.left - 1);
        if (s.now || !this.#timers.has(r.value)) this.#enqueue(r.value);
      }
      if (this.#ready.length >= want) return;
      this.#sweeps.delete(id);
    }
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
    let swept = 0;
    for (const s of this.#sweeps.values()) swept += s.left;
    return this.#queued.size + this.#active.size + this.#timers.size + swept;
  }

  /** Resolves when nothing is queued, swept or running (retries may still be scheduled). */
  async idle(): Promise<void> {
    if (this.#queued.size === 0 && this.#active.size === 0 && this.#sweeps.size === 0) return;
    await new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  /** Stops taking work; running handlers finish. */
  stop(): void {
    this.#stopped = true;
    this.#sweeps.clear();
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
      this.#topUp();
      if (this.#ready.length === 0) break;
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
      if (this.#queued.size === 0 && this.#active.size === 0 && this.#sweeps.size === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
