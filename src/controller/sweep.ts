/**
 * The sweep of every sealed resource (WorkQueue.sweep): each namespace's
 * keys, made one at a time as the queue takes them (issue 17 §1).
 */
import type { SweepGroup } from './queue.js';
import type { SummaryMetadata } from './sealed-cache.js';
import { keyOf } from './watches.js';

/** A cache entry: sealbox's summary, or the compatibility mode's. */
interface Entry { readonly metadata: SummaryMetadata }

/**
 * The sweep groups of `summaries`, by namespace: "namespace/name" keys of
 * those whose namespace `mine` accepts when the key is taken (a shard given
 * up meanwhile is skipped; every namespace by default).
 */
export function sweepGroups(summaries: readonly Entry[], mine: (namespace: string) => boolean = () => true): SweepGroup[] {
  const byNamespace = new Map<string, Entry[]>();
  for (const s of summaries) {
    const group = byNamespace.get(s.metadata.namespace);
    if (group === undefined) byNamespace.set(s.metadata.namespace, [s]);
    else group.push(s);
  }
  return [...byNamespace].map(([namespace, entries]) => ({ namespace, keys: keysOf(namespace, entries, mine), count: entries.length }));
}

function* keysOf(namespace: string, entries: readonly Entry[], mine: (namespace: string) => boolean): Generator<string> {
  for (const e of entries) if (mine(namespace)) yield keyOf(e);
}
