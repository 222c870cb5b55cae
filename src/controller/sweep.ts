/**
 * The sweep of every sealed resource (WorkQueue.sweep): each namespace's
 * keys, made one at a time as the queue takes them (issue 17 §1).
 */
import type { SweepGroup } from './queue.js';
import type { SummaryMetadata } from './sealed-cache.js';

/** A cache entry: sealbox's summary, or the compatibility mode's. */
interface Entry { readonly metadata: SummaryMetadata }

/**
 * The sweep groups of `summaries`, by namespace, of the namespaces `scope`
 * accepts now (`scope` defaults to `mine`, and `mine` to every namespace):
 * "namespace/name" keys, yielded while `mine` accepts the namespace when a
 * key is taken (a shard given up meanwhile is skipped). A resync's scope is every namespace
 * and its `mine` the shards held: a shard whose lease renewal is late when
 * the resync starts is still swept once renewed (attack26c).
 */
export function sweepGroups(summaries: readonly Entry[], mine: (namespace: string) => boolean = () => true, scope: (namespace: string) => boolean = mine): SweepGroup[] {
  // names only (the cache's own strings): a pass must not keep replaced summaries alive until it ends
  const byNamespace = new Map<string, string[]>();
  for (const s of summaries) {
    const { namespace, name } = s.metadata;
    const names = byNamespace.get(namespace);
    if (names === undefined) byNamespace.set(namespace, [name]);
    else names.push(name);
  }
  // no group outside the sweep's scope (asked once per namespace): its empty pass would replace another sweep's not begun (attack26b)
  return [...byNamespace].filter(([namespace]) => scope(namespace)).map(([namespace, names]) => ({ namespace, keys: keysOf(namespace, names, mine), count: names.length }));
}

function* keysOf(namespace: string, names: readonly string[], mine: (namespace: string) => boolean): Generator<string> {
  for (const name of names) if (mine(namespace)) yield `${namespace}/${name}`;
}
