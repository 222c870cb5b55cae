/**
 * The keys a sweep of every sealed resource enqueues (WorkQueue.sweep): made
 * one at a time as the queue takes them, not all at once (issue 17 §1).
 */
import type { SummaryMetadata } from './sealed-cache.js';
import { keyOf } from './watches.js';

/** A cache entry: sealbox's summary, or the compatibility mode's. */
interface Entry { readonly metadata: SummaryMetadata }

/**
 * The items of `groups` taken in turns, one from each group that has any
 * left. Keys grouped by namespace come out interleaved, as the queue serves
 * them, so that the few a sweep keeps waiting are not all of one namespace
 * (which may hold at most workers - 1 workers).
 */
export function* roundRobin<T>(groups: Iterable<Iterable<T>>): Generator<T> {
  let turns = [...groups].map((g) => g[Symbol.iterator]());
  while (turns.length > 0) {
    const next: Iterator<T>[] = [];
    for (const it of turns) {
      const r = it.next();
      if (r.done === true) continue;
      yield r.value;
      next.push(it);
    }
    turns = next;
  }
}

/**
 * The "namespace/name" keys of `summaries`, namespaces in turns, of those
 * whose namespace `mine` accepts when the key is taken (a shard given up
 * meanwhile is skipped; every namespace by default).
 */
export function* sweepKeys(summaries: readonly Entry[], mine: (namespace: string) => boolean = () => true): Generator<string> {
  const byNamespace = new Map<string, Entry[]>();
  for (const s of summaries) {
    const group = byNamespace.get(s.metadata.namespace);
    if (group === undefined) byNamespace.set(s.metadata.namespace, [s]);
    else group.push(s);
  }
  for (const s of roundRobin<Entry>(byNamespace.values())) if (mine(s.metadata.namespace)) yield keyOf(s);
}
