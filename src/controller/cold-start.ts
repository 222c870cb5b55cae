/**
 * The whole sealed resources the informer's initial list hands over, held
 * until their reconcile takes them (issue 17 §1). The cache keeps summaries
 * only, so without this every resource would need a GET at start-up: at the
 * default 50 requests a second, 100,000 GETs are 33 minutes. Memory stays
 * bounded: the list waits (back-pressure, the informer's onListed hook)
 * while more than half of `max` objects are held, and an object offered
 * when all places are taken is not held (its reconcile GETs it).
 */
import type { SealedSecretObject } from '../kube/types.js';

function keyOf(o: SealedSecretObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Offered keys remembered until their 'add' (see #offered). */
const RECENT_OFFERS = 64;

/** Full objects from the initial list, by `namespace/name`, waiting for their reconcile. */
export class ColdStart {
  readonly #held = new Map<string, SealedSecretObject>();
  /**
   * Keys offered whose 'add' has not come yet. It follows at once (or not
   * at all, on a relist that finds the object unchanged), so a few recent
   * keys per lister are enough.
   */
  readonly #offered = new Set<string>();
  readonly #max: number;
  readonly #enqueue: (key: string) => void;
  #waiters: (() => void)[] = [];

  /** `max`: most objects held at once; `enqueue` puts a key on the work queue. */
  constructor(max: number, enqueue: (key: string) => void) {
    this.#max = Math.max(1, max);
    this.#enqueue = enqueue;
  }

  /** Objects held now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Holds `obj` (if there is room) and enqueues it. Resolves once at most
   * half of the places are taken: a lister that waits for it never makes
   * this hold more than that.
   */
  offer(obj: SealedSecretObject): Promise<void> {
    const key = keyOf(obj);
    if (this.#held.size < this.#max || this.#held.has(key)) this.#held.set(key, obj);
    this.#offered.add(key);
    if (this.#offered.size > RECENT_OFFERS) this.#offered.delete(this.#offered.values().next().value ?? '');
    this.#enqueue(key);
    if (this.#held.size <= this.#max / 2) return Promise.resolve();
    return new Promise((resolve) => { this.#waiters.push(resolve); });
  }

  /**
   * True (once) when `key` was enqueued by offer() and the informer now
   * reports it added: that 'add' needs no second reconcile.
   */
  claimAdded(key: string): boolean {
    return this.#offered.delete(key);
  }

  /** Returns and forgets the object held for `key`, or undefined. */
  take(key: string): SealedSecretObject | undefined {
    const o = this.#held.get(key);
    if (o === undefined) return undefined;
    this.#held.delete(key);
    if (this.#held.size <= this.#max / 2) this.#wake();
    return o;
  }

  /** Forgets every object and lets every waiting lister go on (on stop). */
  clear(): void {
    this.#held.clear();
    this.#offered.clear();
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
