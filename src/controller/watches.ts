/**
 * The controller's two watches: sealed resources (cached as SealedSummary)
 * and the Secrets it manages (cached as SecretSummary), and how their
 * events feed the work queue and the cold start (ColdStart).
 */
import type { KubeApi } from '../kube/api.js';
import { trimSealed } from '../kube/informers.js';
import type { ColdStart } from './cold-start.js';
import type { SharedName } from './digest.js';
import { Informers } from './informers.js';
import type { Logger } from './log.js';
import { MANAGED_LABEL, MANAGED_VALUE } from './plan.js';
import type { WorkQueue } from './queue.js';
import type { SealedSummary } from './sealed-cache.js';
import { summarizeSealed } from './sealed-cache.js';
import type { SecretSummary } from './secret-cache.js';
import { summarizeSecret } from './secret-cache.js';

/** What both watches share. */
export interface WatchContext {
  readonly api: KubeApi;
  /** The namespaces watched; `[undefined]` for all. */
  readonly scopes: readonly (string | undefined)[];
  readonly log: Logger;
  readonly queue: WorkQueue;
}

/** Returns the work-queue key ("namespace/name") of a cached or listed object. */
export function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/**
 * Returns the sealed-resource informers: each object of an initial list
 * whose namespace `owns` says this replica reconciles goes to `coldStart`
 * (held for its reconcile, with back-pressure on the list), less its
 * managedFields and kubectl's last-applied copy of the whole object, which
 * reconcile never reads (trimSealed: the held objects churn through the
 * heap, and last-applied doubles what a kubectl-applied one holds); adds and
 * updates enqueue; a delete drops the held object and backoff and enqueues
 * the key once more, so that its reconcile forgets the sync record and the
 * fight state (with the Secret orphaned nothing else enqueued it, and they
 * stayed for good: found by attack17). A new entry takes its name string
 * from `shared` (the Secret cache) when that has one.
 */
export function sealedWatch(c: WatchContext, coldStart: ColdStart, owns: (namespace: string) => boolean, shared?: SharedName): Informers<SealedSummary> {
  const { queue } = c;
  return new Informers({
    kind: 'sealedsecrets', scopes: c.scopes, log: c.log,
    open: (ns) => c.api.sealedInformer(ns, (obj, old) => summarizeSealed(obj, old, shared), { onListed: (obj) => (owns(obj.metadata?.namespace ?? '') ? coldStart.offer(trimSealed(obj)) : undefined) }),
    onAdd: (obj) => { if (!coldStart.claimAdded(keyOf(obj))) queue.add(keyOf(obj)); },
    onUpdate: (obj) => { queue.add(keyOf(obj)); },
    onDelete: (obj) => { queue.forget(keyOf(obj)); coldStart.take(keyOf(obj)); queue.add(keyOf(obj)); },
  });
}

/** Enqueues the sealed resource a managed Secret belongs to, when it names one. */
function enqueueOwner(queue: WorkQueue): (s: SecretSummary) => void {
  return (s) => {
    if (s.owner !== undefined) queue.add(`${s.metadata.namespace}/${s.owner}`);
  };
}

/**
 * Returns the informers of the Secrets sealbox manages (by label); a change
 * or delete enqueues the owner. A new entry takes its name string from
 * `shared` (the sealed-resource cache) when that has one.
 */
export function secretWatch(c: WatchContext, shared?: SharedName): Informers<SecretSummary> {
  return new Informers({
    kind: 'secrets', scopes: c.scopes, log: c.log,
    open: (ns) => c.api.secretInformer(`${MANAGED_LABEL}=${MANAGED_VALUE}`, ns, (s, old) => summarizeSecret(s, old, shared)),
    onUpdate: enqueueOwner(c.queue),
    onDelete: enqueueOwner(c.queue),
  });
}
