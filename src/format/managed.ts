/**
 * Metadata that Kubernetes and its tools manage. None of it belongs in a
 * sealed template: some of it holds a full copy of the Secret, values
 * included; the rest identifies one object in one cluster.
 */
import { isObject } from './object.js';

/**
 * Annotations that tools write with a full copy of the object, values
 * included: kubectl and kubecfg (both stripped by kubeseal too, sealed-secrets
 * #227) and kapp. Never copied into a sealed template.
 */
export const MANAGED_ANNOTATIONS: readonly string[] = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'kubecfg.ksonnet.io/last-applied-configuration',
  'kapp.k14s.io/original',
  'kapp.k14s.io/original-diff',
];

/**
 * Metadata fields the API server or controllers fill in. A sealed template
 * carries only labels and annotations, so sealing drops these; `verify`
 * flags them in a sealed resource's own metadata (a copy from a cluster).
 */
export const SERVER_FIELDS: readonly string[] = [
  'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'ownerReferences', 'finalizers',
];

/** Returns `annotations` without the managed ones. */
export function stripManagedAnnotations(annotations: Readonly<Record<string, string>>): Record<string, string> {
  // fromEntries defines own properties, so a key named "__proto__" survives.
  return Object.fromEntries(Object.entries(annotations).filter(([k]) => !MANAGED_ANNOTATIONS.includes(k)));
}

/** Names of the managed annotations, and with `serverFields` the server-filled fields, in a metadata object. */
export function managedMetadata(meta: unknown, serverFields: boolean): string[] {
  if (!isObject(meta)) return [];
  const annotations = isObject(meta.annotations) ? Object.keys(meta.annotations).filter((k) => MANAGED_ANNOTATIONS.includes(k)) : [];
  const fields = serverFields ? SERVER_FIELDS.filter((f) => Object.hasOwn(meta, f)) : [];
  return [...annotations.map((a) => `annotation ${a}`), ...fields.map((f) => `metadata.${f}`)];
}

