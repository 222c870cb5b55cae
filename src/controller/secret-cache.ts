/**
 * What the controller's Secret cache keeps (issue 11, item 6b): never a
 * Secret's values. A Secret some sealed resource controls is kept as a
 * summary — identity, owner, type, labels, and digests of its data values
 * and of long annotation values — enough to tell, on a resync, that it
 * still matches Git without an API call. Any other Secret is kept as a stub
 * with its identity only: the managed-by label is one anyone can set, so a
 * labelled Secret earns no memory. Reconcile fetches the full Secret before
 * it writes, so drift detection stays exact: digests first, then a GET.
 */
import { createHash } from 'node:crypto';
import type { SecretData } from '../format/secret.js';
import { toBase64 } from '../crypto/base64.js';
import type { V1Secret } from './kube.js';

/** Annotation values longer than this are kept as digests. */
const LONG_ANNOTATION = 128;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const summarized = new WeakSet<object>();

function digestBytes(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The digest a summary keeps for a data value given as base64 (itself valid base64). */
function dataDigest(base64: string): string {
  return digestBytes(base64).toString('base64');
}

function annotationDigests(annotations: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k, v.length > LONG_ANNOTATION ? `sha256:${digestBytes(v).toString('base64')}` : v]));
}

/** True when a sealed resource controls `s` by its ownerReferences (a claim only: anyone may write one). */
function claimsSealedOwner(s: V1Secret): boolean {
  return (s.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.kind === 'SealedSecret' && r.apiVersion.startsWith('sealbox.dev/'));
}

/**
 * Turns `s` into its cache entry, in place, and returns it: a summary if a
 * sealed resource controls it, a stub otherwise. Idempotent.
 */
export function summarizeSecret(s: V1Secret): V1Secret {
  if (summarized.has(s)) return s;
  summarized.add(s);
  const meta = s.metadata ?? {};
  delete meta.managedFields;
  delete s.stringData;
  if (!claimsSealedOwner(s)) {
    delete s.data;
    s.metadata = { name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion };
    return s;
  }
  const { [LAST_APPLIED]: _lastApplied, ...annotations } = meta.annotations ?? {};
  meta.annotations = annotationDigests(annotations);
  if (s.data !== undefined) s.data = Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, dataDigest(v)]));
  return s;
}

/**
 * Returns `desired` in the form a summary takes: each value replaced by
 * bytes whose base64 is the digest a summary keeps, long annotation values
 * by their digests. plan(owner, summary, summarizeDesired(d)) is `none`
 * exactly when plan(owner, fullSecret, d) is (up to SHA-256 collisions).
 */
export function summarizeDesired(desired: SecretData): SecretData {
  const data = new Map([...desired.data].map(([k, v]) => [k, new Uint8Array(digestBytes(toBase64(v)))]));
  return { ...desired, annotations: annotationDigests(desired.annotations), data };
}
