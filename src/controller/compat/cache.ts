/**
 * What the compatibility mode keeps of each Sealed Secrets SealedSecret
 * (docs/SECURITY.md 1a.8; issue 17 §1 for sealbox's own): its identity,
 * resourceVersion and generation, never its ciphertext, labels or
 * annotations, so the cache's size does not depend on what a tenant
 * writes (a SealedSecret may be 1.4 MB). Reconcile works on the full
 * object: the one the initial list handed over (held by a ColdStart of its
 * own, bounded in count and bytes) or a GET.
 */
import type { SealedSecretObject } from '../../kube/types.js';
import type { SummaryMetadata } from '../sealed-cache.js';
import { summaryMetadata } from '../sealed-cache.js';

/** Most SealedSecrets held for their first reconcile, as for sealbox's own. */
export const COMPAT_COLD_START_HOLD = 1000;

/** Most bytes of SealedSecrets' specs held for their first reconcile; half of sealbox's own (COLD_START_BYTES), as both may be held at once. */
export const COMPAT_COLD_START_BYTES = 16 * 1024 * 1024;

/** The cache entry of one bitnami SealedSecret. */
export interface CompatSummary {
  readonly metadata: SummaryMetadata;
}

/** Returns the summary of `obj`, a new object; `obj` is left as it is. */
export function summarizeBitnami(obj: SealedSecretObject): CompatSummary {
  return { metadata: summaryMetadata(obj) };
}

/**
 * Returns the full SealedSecret to reconcile, or undefined when it is gone:
 * the copy the initial list handed over (`listed`) when it is the version
 * cached, or when the cache has not got it yet (the list hands an object
 * over before caching it); else `get()`'s (a GET), as the cache holds no
 * ciphertext.
 */
export async function fullSealed(
  cached: CompatSummary | undefined,
  listed: SealedSecretObject | undefined,
  get: () => Promise<SealedSecretObject | undefined>,
): Promise<SealedSecretObject | undefined> {
  if (cached === undefined) return listed;
  if (listed !== undefined && listed.metadata?.resourceVersion === cached.metadata.resourceVersion) return listed;
  return get();
}
