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

/** The cache entry of one sealed resource. */
export interface SealedSummary {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly resourceVersion: string;
    readonly generation: number;
  };
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
    metadata: {
      name: meta.name ?? '',
      namespace: intern(meta.namespace ?? ''),
      uid: meta.uid ?? '',
      resourceVersion: meta.resourceVersion ?? '',
      generation: meta.generation ?? 0,
    },
    deleting: meta.deletionTimestamp !== undefined,
    patch: meta.annotations?.[PATCH_ANNOTATION] === 'true',
    spec: specDigest(obj.spec),
    status: statusView(obj.status),
  };
}
