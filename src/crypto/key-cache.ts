import { createHash } from 'node:crypto';
import { bindingText } from './binding.js';
import type { DataKeyGroup } from './group.js';
import type { Binding } from './types.js';

/** True when a sealing key (fingerprint) in `before` is not in `now`. */
export function keyGone(before: ReadonlySet<string>, now: ReadonlySet<string>): boolean {
  for (const f of before) if (!now.has(f)) return true;
  return false;
}

/** Bytes of a slot: a data key (AES-256) or a Sealed Secrets session key. */
const SLOT = 32;

/**
 * Bounded in-memory cache of unwrapped data keys (least recently used goes
 * first). Keyed by the binding, the group id and key commitment and every
 * stanza's bytes, so a group that is moved or has its recipients or
 * commitment edited misses and is unwrapped (and checked)
 * afresh. Keys are copied in and out; callers may zero what they get.
 *
 * The keys live in one buffer of 32-byte slots, not one Uint8Array each
 * (issue 17 §1): a Uint8Array of its own cost about 180 bytes of heap and
 * a native backing store besides its 32 bytes, about 30 MiB of heap at the
 * default 100,000 keys; a slot costs 32 bytes and its map entry. A slot is
 * zeroed when its key leaves, and the old buffer when a bigger one
 * replaces it. Keys longer than a slot (none of sealbox's or Sealed
 * Secrets' formats makes one) are not cached.
 */
export class DataKeyCache {
  readonly #max: number;
  /** Cache key → slot, least recently used first. */
  readonly #slots = new Map<string, number>();
  /** Slots of keys that left, to be used again. */
  readonly #free: number[] = [];
  /** The slots, SLOT bytes each; grows by doubling up to #max slots. */
  #buf: Uint8Array = new Uint8Array(0);
  /** The length of the key in each slot. */
  #lengths = new Uint8Array(0);
  /** Slots handed out so far (the rest of #buf is unused). */
  #next = 0;
  /** The sealing keys at the last keysNow(). */
  #fingerprints: ReadonlySet<string> = new Set();
  readonly #alloc: (bytes: number) => Uint8Array;
  hits = 0;
  misses = 0;

  /** `alloc` makes the slot buffers (tests pass one that keeps them, to check they are zeroed). */
  constructor(max: number, alloc: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes)) {
    this.#max = max;
    this.#alloc = alloc;
  }

  /** Returns the cache key of a group at a binding. */
  static keyOf(binding: Binding, group: DataKeyGroup): string {
    const h = createHash('sha256').update(bindingText(binding)).update('\0').update(group.id).update('\0').update(group.commitment);
    for (const s of group.recipients) h.update('\0').update(s.type).update('\0').update(s.id).update('\0').update(s.wrapped);
    return h.digest('base64');
  }

  get(key: string): Uint8Array | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return this.#buf.slice(slot * SLOT, slot * SLOT + (this.#lengths[slot] ?? 0));
  }

  set(key: string, dataKey: Uint8Array): void {
    if (this.#max < 1 || dataKey.length === 0 || dataKey.length > SLOT) return;
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      while (this.#slots.size >= this.#max) this.#evictOldest();
      slot = this.#free.pop() ?? this.#newSlot();
    } else {
      this.#slots.delete(key);
    }
    this.#buf.fill(0, slot * SLOT, (slot + 1) * SLOT);
    this.#buf.set(dataKey, slot * SLOT);
    this.#lengths[slot] = dataKey.length;
    this.#slots.set(key, slot);
  }

  /**
   * Tells the cache which sealing keys (by fingerprint) exist now. When one
   * that existed at the last call is gone, every key is dropped: a resource
   * only the removed key opens must fail to unseal, as after a restart, not
   * go on being unsealed from here (found by attack23). A key added drops
   * nothing.
   */
  keysNow(fingerprints: ReadonlySet<string>): void {
    if (keyGone(this.#fingerprints, fingerprints)) this.clear();
    this.#fingerprints = fingerprints;
  }

  /** Drops every key (e.g. when sealing keys are removed). */
  clear(): void {
    this.#buf.fill(0);
    this.#lengths.fill(0);
    this.#slots.clear();
    this.#free.length = 0;
    this.#next = 0;
  }

  get size(): number {
    return this.#slots.size;
  }

  #evictOldest(): void {
    const [oldest, slot] = this.#slots.entries().next().value as [string, number];
    this.#slots.delete(oldest);
    this.#buf.fill(0, slot * SLOT, (slot + 1) * SLOT);
    this.#free.push(slot);
  }

  /** A slot never used yet, the buffer doubled (the old one zeroed) when it is full. */
  #newSlot(): number {
    const slots = this.#lengths.length;
    if (this.#next === slots) {
      const grown = Math.min(this.#max, Math.max(64, slots * 2));
      const buf = this.#alloc(grown * SLOT);
      buf.set(this.#buf);
      this.#buf.fill(0);
      this.#buf = buf;
      const lengths = new Uint8Array(grown);
      lengths.set(this.#lengths);
      this.#lengths = lengths;
    }
    return this.#next++;
  }
}
