/**
 * A map keyed by namespace and name, as two levels of Map (issue 17 §1).
 * The caches, sync records and fight state of 100,000 resources each kept
 * a `namespace/name` key of their own: a ConsString or a flat copy, 48 to
 * 80 bytes per entry and per map, more than the digest it led to. Here the
 * name string is the key, and callers pass the one their cached summary
 * holds, so the maps share it; the namespace is one key per namespace.
 */
export class NamespacedMap<V> {
  readonly #byNamespace = new Map<string, Map<string, V>>();
  #size = 0;

  /** Entries in all namespaces. */
  get size(): number {
    return this.#size;
  }

  get(namespace: string, name: string): V | undefined {
    return this.#byNamespace.get(namespace)?.get(name);
  }

  has(namespace: string, name: string): boolean {
    return this.#byNamespace.get(namespace)?.has(name) === true;
  }

  /** Sets the entry; an existing entry keeps the name string it was first set with. */
  set(namespace: string, name: string, value: V): void {
    let names = this.#byNamespace.get(namespace);
    if (names === undefined) {
      names = new Map();
      this.#byNamespace.set(namespace, names);
    }
    const before = names.size;
    names.set(name, value);
    this.#size += names.size - before;
  }

  /** Deletes the entry; returns whether there was one. */
  delete(namespace: string, name: string): boolean {
    const names = this.#byNamespace.get(namespace);
    if (names?.delete(name) !== true) return false;
    this.#size--;
    if (names.size === 0) this.#byNamespace.delete(namespace);
    return true;
  }

  clear(): void {
    this.#byNamespace.clear();
    this.#size = 0;
  }

  /** The values of one namespace, or of all when `namespace` is undefined. */
  *values(namespace?: string): IterableIterator<V> {
    if (namespace !== undefined) {
      yield* this.#byNamespace.get(namespace)?.values() ?? [];
      return;
    }
    for (const names of this.#byNamespace.values()) yield* names.values();
  }

  /** Every [namespace, name] pair; deleting entries while iterating is safe (as with a Map). */
  *keys(): IterableIterator<[string, string]> {
    for (const [namespace, names] of this.#byNamespace) for (const name of names.keys()) yield [namespace, name];
  }

  /** A copy of the keys, as a NamespacedMap of `true` (the name strings shared). */
  keySet(): NamespacedMap<true> {
    const out = new NamespacedMap<true>();
    for (const [namespace, names] of this.#byNamespace) for (const name of names.keys()) out.set(namespace, name, true);
    return out;
  }
}
