/**
 * The cache of one informer (src/kube/list-watch.ts): what its `keep`
 * function returns of each object, by namespace and name (NamespacedMap:
 * no key string of its own), and the callbacks told of each change.
 */
import type * as k8s from '@kubernetes/client-node';
import { NamespacedMap } from './namespaced-map.js';

/** A change to the cache. */
export type CacheVerb = 'add' | 'update' | 'delete';

/** What was cached when an initial list started and it has not delivered yet: deleted at its end. */
export type Unseen = NamespacedMap<true>;

/** The resourceVersion of a cache entry that has `metadata.resourceVersion`. */
function versionOf(entry: unknown): string | undefined {
  const rv = (entry as { metadata?: { resourceVersion?: unknown } } | null | undefined)?.metadata?.resourceVersion;
  return typeof rv === 'string' ? rv : undefined;
}

/**
 * The name string to key a new entry under: the entry's own
 * `metadata.name` when it equals `name` (a summary may hold another
 * cache's copy, which the key then shares), else `name`.
 */
function keyName(entry: unknown, name: string): string {
  const own = (entry as { metadata?: { name?: unknown } } | null | undefined)?.metadata?.name;
  return own === name ? own : name;
}

function whereOf(obj: k8s.KubernetesObject): [namespace: string, name: string] {
  return [obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''];
}

/** The entries `keep` makes of full objects `F`, and the callbacks told of them. */
export class InformerCache<F extends k8s.KubernetesObject, C> {
  readonly #keep: (obj: F, old: C | undefined) => C;
  readonly #entries = new NamespacedMap<C>();
  readonly #cbs: Record<CacheVerb, ((obj: C) => void)[]> = { add: [], update: [], delete: [] };

  /**
   * `keep` makes the entry of a full object, given the entry it replaces
   * (so that it can keep that entry's strings). An entry's
   * `metadata.resourceVersion`, if it has one, lets an object delivered
   * again unchanged (a relist) be no update.
   */
  constructor(keep: (obj: F, old: C | undefined) => C) {
    this.#keep = keep;
  }

  on(verb: CacheVerb, cb: (obj: C) => void): void {
    this.#cbs[verb].push(cb);
  }

  get(namespace: string, name: string): C | undefined {
    return this.#entries.get(namespace, name);
  }

  /** Every entry, or those of one namespace. */
  list(namespace?: string): C[] {
    return [...this.#entries.values(namespace)];
  }

  /** Caches `obj` (unless its entry has its resourceVersion already) and tells 'add' or 'update'. */
  put(obj: F): void {
    const [namespace, name] = whereOf(obj);
    const rv = obj.metadata?.resourceVersion;
    const old = this.#entries.get(namespace, name);
    if (old !== undefined && rv !== undefined && versionOf(old) === rv) return;
    const entry = this.#keep(obj, old);
    // a new key: the entry's name string (an existing one keeps its first key)
    this.#entries.set(namespace, old === undefined ? keyName(entry, name) : name, entry);
    this.#emit(old === undefined ? 'add' : 'update', entry);
  }

  /** Drops the entry of `obj` (if any) and tells 'delete'. */
  remove(obj: F): void {
    this.#drop(...whereOf(obj));
  }

  /** What is cached now, as the Unseen of an initial list that starts. */
  unseen(): Unseen {
    return this.#entries.keySet();
  }

  /** Marks `obj` as delivered by the initial list of `unseen`. */
  static seen(unseen: Unseen, obj: k8s.KubernetesObject): void {
    unseen.delete(...whereOf(obj));
  }

  /** Ends an initial list: drops what it did not deliver, telling 'delete' of each. */
  replaced(unseen: Unseen): void {
    for (const [namespace, name] of unseen.keys()) this.#drop(namespace, name);
  }

  #drop(namespace: string, name: string): void {
    const old = this.#entries.get(namespace, name);
    if (old === undefined) return;
    this.#entries.delete(namespace, name);
    this.#emit('delete', old);
  }

  #emit(verb: CacheVerb, obj: C): void {
    for (const cb of this.#cbs[verb]) cb(obj);
  }
}
