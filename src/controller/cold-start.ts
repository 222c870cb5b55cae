/**
 * The whole sealed resources the informer's initial list hands over, held
 * until their reconcile takes them (issue 17 §1). The cache keeps summaries
 * only, so without this every resource would need a GET at start-up: at the
 * default 50 requests a second, 100,000 GETs are 33 minutes. Memory stays
 * bounded: the list waits (back-pressure, the informer's onListed hook)
 * while more than half of `max` objects, or of `maxBytes` of their JSON,
 * are held, and an object offered when either is full is not held (its
 * reconcile GETs it). The bytes matter: a sealed resource may be 1.4 MB,
 * and 1,000 of a tenant's such held at once were 1.4 GB against deploy/'s
 * 192 MiB heap (found by attack17).
 */
import type { SealedSecretObject } from '../kube/types.js';

function keyOf(o: SealedSecretObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Offered keys remembered until their 'add' (see #offered). */
const RECENT_OFFERS = 64;

/** Default bound on the bytes held: 1,000 typical resources fit, ~22 of the largest. */
export const COLD_START_BYTES = 32 * 1024 * 1024;

/**
 * The size of `o` as held: its whole JSON text. Its spec alone (the
 * ciphertext, nearly all of a typical one) let a tenant's resources of a
 * tiny spec and a megabyte of labels (no limit on their total but etcd's
 * object size) be held 500 at a time at a few hundred bytes each: 500 MB
 * against deploy/'s 192 MiB heap at every start (found by attack25).
 */
function sizeOf(o: SealedSecretObject): number {
  return JSON.stringify(o).length;
}

/** Full objects from the initial list, by `namespace/name`, waiting for their reconcile. */
export class ColdStart {
  readonly #held = new Map<string, { readonly obj: SealedSecretObject; readonly bytes: number }>();
  #bytes = 0;
  /**
   * Keys offered whose 'add' has not come yet. It follows at once (or not
   * at all, on a relist that finds the object unchanged), so a few recent
   * keys per lister are enough.
   */
  readonly #offered = new Set<string>();
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #enqueue: (key: string) => void;
  #waiters: (() => void)[] = [];

  /** `max`: most objects held at once, `maxBytes` most bytes (sizeOf); `enqueue` puts a key on the work queue. */
  constructor(max: number, enqueue: (key: string) => void, maxBytes = COLD_START_BYTES) {
    this.#max = Math.max(1, max);
    this.#maxBytes = Math.max(1, maxBytes);
    this.#enqueue = enqueue;
  }

  /** Objects held now. */
  get size(): number {
    return this.#held.size;
  }

  /** Bytes held now (as sizeOf counts them). */
  get bytes(): number {
    return this.#bytes;
  }

  /** At most half of the places and half of the bytes are taken: the list may go on. */
  #roomy(): boolean {
    return this.#held.size <= this.#max / 2 && this.#bytes <= this.#maxBytes / 2;
  }

  /** Holds `obj` in place of any older copy, when it fits. */
  #hold(key: string, obj: SealedSecretObject): void {
    const old = this.#held.get(key);
    if (old !== undefined) {
      this.#held.delete(key);
      this.#bytes -= old.bytes;
    }
    const bytes = sizeOf(obj);
    if (this.#held.size >= this.#max || this.#bytes + bytes > this.#maxBytes) return;
    this.#held.set(key, { obj, bytes });
    this.#bytes += bytes;
  }

  /**
   * Holds `obj` (if there is room) and enqueues it. Resolves once at most
   * half of the places and half of the bytes are taken: a lister that
   * waits for it never makes this hold more than that.
   */
  offer(obj: SealedSecretObject): Promise<void> {
    const key = keyOf(obj);
    this.#hold(key, obj);
    this.#offered.add(key);
    if (this.#offered.size > RECENT_OFFERS) this.#offered.delete(this.#offered.values().next().value ?? '');
    this.#enqueue(key);
    if (this.#roomy()) return Promise.resolve();
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
    const held = this.#held.get(key);
    if (held === undefined) return undefined;
    this.#held.delete(key);
    this.#bytes -= held.bytes;
    if (this.#roomy()) this.#wake();
    return held.obj;
  }

  /** Forgets every object and lets every waiting lister go on (on stop). */
  clear(): void {
    this.#held.clear();
    this.#bytes = 0;
    this.#offered.clear();
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
