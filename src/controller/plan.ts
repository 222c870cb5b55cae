/**
 * The pure middle of reconciliation: given the sealed resource, the Secret
 * that exists and the Secret that should exist, decide what to write.
 * No I/O here; table-tested in test/unit/controller/plan.test.ts.
 */
import { toBase64 } from '../crypto/base64.js';
import type { SecretData } from '../format/secret.js';
import { BITNAMI_API_VERSION, BITNAMI_KIND } from '../format/bitnami.js';
import { MANAGED_LABEL } from '../format/template.js';
import type { V1OwnerReference, V1Secret } from '../kube/types.js';

/** Label on every Secret sealbox manages; the Secret informer selects on it. */
export { MANAGED_LABEL };
export const MANAGED_VALUE = 'sealbox';
/** Annotation on an existing Secret that lets sealbox take it over. */
export const TAKEOVER_ANNOTATION = 'sealbox.dev/take-over';
/** Annotation on a sealed resource: merge its values into the Secret instead of replacing the data. */
export const PATCH_ANNOTATION = 'sealbox.dev/patch';

/** The sealed resource that owns the Secret. */
export interface Owner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** What reconciliation must do to the Secret. */
export type Plan =
  | { readonly action: 'none' }
  | { readonly action: 'create'; readonly secret: V1Secret }
  | { readonly action: 'update'; readonly secret: V1Secret }
  /** Type or immutability changed: delete the Secret (by uid), then create. */
  | { readonly action: 'recreate'; readonly uid: string; readonly secret: V1Secret }
  | { readonly action: 'refuse'; readonly reason: 'SecretNotOwned'; readonly message: string };

/** Options of plan(). */
export interface PlanOptions {
  /** Merge values into the Secret, keeping keys sealbox did not set. */
  readonly patch: boolean;
}

function ownerReference(o: Owner): V1OwnerReference {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, controller: true };
}

/** True when `secret` is controlled by the sealed resource `owner`. */
export function isOwnedBy(secret: V1Secret, owner: Owner): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === owner.uid);
}

function canTakeOver(secret: V1Secret, owner: Owner): boolean {
  const refs = secret.metadata?.ownerReferences ?? [];
  const otherController = refs.some((r) => r.controller === true && r.uid !== owner.uid);
  return !otherController && secret.metadata?.annotations?.[TAKEOVER_ANNOTATION] === 'true';
}

/**
 * True when `secret` is controlled by the Sealed Secrets SealedSecret of the
 * same name and sealbox would leave its values and type exactly as they are:
 * a resource `sealbox convert` made from that SealedSecret takes it over
 * without a gap (the owner reference moves; no value changes, nothing is
 * deleted). A resource whose values differ still needs the take-over
 * annotation: only someone who knows every value can adopt this way.
 */
export function adoptsFromSealedSecrets(secret: V1Secret, owner: Owner, data: Readonly<Record<string, string>>, type: string): boolean {
  const ref = (secret.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  return ref !== undefined && ref.apiVersion === BITNAMI_API_VERSION && ref.kind === BITNAMI_KIND && ref.name === owner.name &&
    (secret.type ?? 'Opaque') === type && sameMap(secret.data ?? {}, data);
}

function notOwned(owner: Owner): Plan {
  return {
    action: 'refuse',
    reason: 'SecretNotOwned',
    message: `secret "${owner.namespace}/${owner.name}" exists and is not managed by this sealed secret; annotate it with ${TAKEOVER_ANNOTATION}="true" to let sealbox take it over, or delete it`,
  };
}

function encodeData(data: ReadonlyMap<string, Uint8Array>): Record<string, string> {
  // fromEntries defines own properties, so a key named "__proto__" survives.
  return Object.fromEntries([...data].map(([k, v]) => [k, toBase64(v)]));
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => b[k] === a[k]);
}

function includes(outer: Readonly<Record<string, string>>, inner: Readonly<Record<string, string>>): boolean {
  return Object.entries(inner).every(([k, v]) => outer[k] === v);
}

/**
 * Decides the write that makes the cluster match Git. Returns `none` when the
 * Secret already matches, so a resync of synced resources writes nothing.
 */
export function plan(owner: Owner, existing: V1Secret | undefined, desired: SecretData, opts: PlanOptions): Plan {
  const data = encodeData(desired.data);
  const labels = { ...desired.labels, [MANAGED_LABEL]: MANAGED_VALUE };
  if (existing === undefined) {
    return {
      action: 'create',
      secret: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: owner.name, namespace: owner.namespace, labels, annotations: { ...desired.annotations }, ownerReferences: [ownerReference(owner)] },
        type: desired.type,
        ...(desired.immutable === undefined ? {} : { immutable: desired.immutable }),
        data,
      },
    };
  }
  const meta = existing.metadata ?? {};
  const owned = isOwnedBy(existing, owner);
  const adopting = !owned && adoptsFromSealedSecrets(existing, owner, data, desired.type);
  if (!owned && !adopting && !canTakeOver(existing, owner)) return notOwned(owner);
  const existingData = existing.data ?? {};
  const nextData = opts.patch ? { ...existingData, ...data } : data;
  const existingLabels = meta.labels ?? {};
  const existingAnnotations = meta.annotations ?? {};
  const type = existing.type ?? 'Opaque';
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...meta,
      labels: { ...existingLabels, ...labels },
      annotations: { ...existingAnnotations, ...desired.annotations },
      ownerReferences: [...(meta.ownerReferences ?? []).filter((r) => r.controller !== true), ownerReference(owner)],
    },
    type: desired.type,
    ...(desired.immutable === undefined ? {} : { immutable: desired.immutable }),
    data: nextData,
  };
  // Kubernetes refuses to change a Secret's type, or anything of an immutable Secret.
  if (type !== desired.type || (existing.immutable === true && (!sameMap(existingData, nextData) || desired.immutable !== true))) {
    // An adoption never deletes the Secret: re-creating it is for a take-over the user asked for.
    if (adopting) return notOwned(owner);
    const uid = meta.uid ?? '';
    const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, managedFields: _mf, ...fresh } = secret.metadata ?? {};
    return { action: 'recreate', uid, secret: { ...secret, metadata: fresh } };
  }
  const unchanged =
    owned &&
    sameMap(existingData, nextData) &&
    includes(existingLabels, labels) &&
    includes(existingAnnotations, desired.annotations) &&
    (desired.immutable === undefined || existing.immutable === desired.immutable);
  return unchanged ? { action: 'none' } : { action: 'update', secret };
}
