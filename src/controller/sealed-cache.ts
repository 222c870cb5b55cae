/**
 * What the controller's sealed-resource cache keeps of each sealed resource
 * (issue 17 §1): its identity, generation, whether it is being deleted,
 * whether it asks for patch mode, a digest of its spec and a digest of its
 * status as nextStatus compares it — never its ciphertext. Reconcile GETs
 * the full object when it must unseal (or takes it from the initial list
 * while that is still in memory, see ColdStart).
 */
import type { SealedSecretObject } from '../kube/types.js';
import { canonicalJson, intern, shortDigest } from './digest.js';
import { PATCH_ANNOTATION } from './plan.js';
import type { StatusView } from './status.js';
import { statusView } from './status.js';

/** What a cache entry keeps of an object's metadata: its identity and version. */
export interface SummaryMetadata {
  readonly name: string;
  readonly namespace: string;
  /** The uid a Secret's controller reference must name. */
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation: number;
}

/** Returns the identity and version of `obj`'s metadata, the namespace interned. */
export function summaryMetadata(obj: SealedSecretObject): SummaryMetadata {
  const meta = obj.metadata ?? {};
  return {
    name: meta.name ?? '',
    namespace: intern(meta.namespace ?? ''),
    uid: meta.uid ?? '',
    resourceVersion: meta.resourceVersion ?? '',
    generation: meta.generation ?? 0,
  };
}

/** The cache entry of one sealed resource. */
export interface SealedSummary {
  readonly metadata: SummaryMetadata;
  /** A deletionTimestamp is set: garbage collection is removing the Secret. */
  readonly deleting: boolean;
  /** The patch annotation is "true". */
  readonly patch: boolean;
  /** specDigest(spec). */
  readonly spec: string;
  readonly status: StatusView;
}

/** The digest of a sealed resource's spec that its summary keeps. */
export function specDigest(spec: unknown): string {
  return shortDigest([canonicalJson(spec ?? null)]);
}

/** Returns the summary of `obj`, a new object; `obj` is left as it is. */
export function summarizeSealed(obj: SealedSecretObject): SealedSummary {
  const meta = obj.metadata ?? {};
  return {
    metadata: summaryMetadata(obj),
    deleting: meta.deletionTimestamp !== undefined,
    patch: meta.annotations?.[PATCH_ANNOTATION] === 'true',
    spec: specDigest(obj.spec),
    status: statusView(obj.status),
  };
}
