import { createHash } from 'node:crypto';
import { bindingText } from './binding.js';
import type { DataKeyGroup } from './group.js';
import type { Binding } from './types.js';

/**
 * Bounded in-memory cache of unwrapped data keys (least recently used goes
 * first). Keyed by the binding, the group id and key commitment and every
 * stanza's bytes, so a group that is moved or has its recipients or
 * commitment edited misses and is unwrapped (and checked)
 * afresh. Keys are copied in and out; callers may zero what they get.
 */
export class DataKeyCache {
  readonly #max: number;
  readonly #entries = new Map<string, Uint8Array>();
  hits = 0;
  misses = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** Returns the cache key of a group at a binding. */
  static keyOf(binding: Binding, group: DataKeyGroup): string {
    const h = createHash('sha256').update(bindingText(binding)).update('\0').update(group.id).update('\0').update(group.commitment);
    for (const s of group.recipients) h.update('\0').update(s.type).update('\0').update(s.id).update('\0').update(s.wrapped);
    return h.digest('base64');
  }

  get(key: string): Uint8Array | undefined {
    const v = this.#entries.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#entries.delete(key);
    this.#entries.set(key, v);
    return Uint8Array.from(v);
  }

  set(key: string, dataKey: Uint8Array): void {
    this.#entries.delete(key);
    this.#entries.set(key, Uint8Array.from(dataKey));
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.get(oldest)?.fill(0);
      this.#entries.delete(oldest);
    }
  }

  /** Drops every key (e.g. when sealing keys are removed). */
  clear(): void {
    for (const v of this.#entries.values()) v.fill(0);
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
