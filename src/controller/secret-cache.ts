/**
 * What the controller's Secret cache keeps (issue 11, item 6b): never a
 * Secret's values. A Secret some sealed resource controls is kept as a
 * summary — identity, owner, type, labels, digests of its data values (one
 * digest of the whole map when there are many keys) and of long annotation
 * values — enough to tell, on a resync, that it
 * still matches Git without an API call. Any other Secret is kept as a stub
 * with its identity only: the managed-by label is one anyone can set, so a
 * labelled Secret earns no memory. Reconcile fetches the full Secret before
 * it writes, so drift detection stays exact: digests first, then a GET.
 */
import { createHash } from 'node:crypto';
import type { SecretData } from '../format/secret.js';
import { toBase64 } from '../crypto/base64.js';
import type { V1Secret } from '../kube/types.js';

/** Annotation values longer than this are kept as digests. */
const LONG_ANNOTATION = 128;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const summarized = new WeakSet<object>();

function digestBytes(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Past this many bytes of key names and digests, a summary keeps one digest
 * of the whole data map instead of one per key. Kubernetes counts only
 * value bytes against a Secret's 1 MiB, so a Secret of 30,000 empty values
 * grew ten-fold in the cache (found by the re-attack: 36 such Secrets
 * exhausted the heap). With one digest, a resync of such a Secret in patch
 * mode reads it from the API (still no write when it matches).
 */
const MAX_PER_KEY_BYTES = 4096;
/** The one data entry of a whole-map summary: not a valid Secret key, so never a real one. */
const DATA_DIGEST_KEY = '#sha256';
const DIGEST_CHARS = 44;

/** SHA-256 over the sorted key/value pairs (values in base64), each length-prefixed. */
function dataMapDigest(entries: readonly (readonly [string, string])[]): Buffer {
  const h = createHash('sha256');
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`${String(k.length)}:${k}=${String(v.length)}:${v};`);
  return h.digest();
}

/** The data a summary keeps for `entries` (values in base64): digests per key, or one for the map; the choice depends on the key names only. */
function summarizeData(entries: readonly (readonly [string, string])[]): [string, Buffer][] {
  const perKey = entries.reduce((n, [k]) => n + k.length + DIGEST_CHARS, 0);
  if (perKey <= MAX_PER_KEY_BYTES) return entries.map(([k, v]) => [k, digestBytes(v)]);
  return [[DATA_DIGEST_KEY, dataMapDigest(entries)]];
}

const DIGEST_PREFIX = 'sha256:';

/**
 * Long values become `sha256:` digests; so does any value that already
 * starts with `sha256:`, or an editor of the Secret could write the digest's
 * text as a short value and the summary would match Git while the Secret
 * does not (drift left in place; found by attack17).
 */
function annotationDigests(annotations: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k, v.length > LONG_ANNOTATION || v.startsWith(DIGEST_PREFIX) ? `${DIGEST_PREFIX}${digestBytes(v).toString('base64')}` : v]));
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
  if (s.data !== undefined) s.data = Object.fromEntries(summarizeData(Object.entries(s.data)).map(([k, d]) => [k, d.toString('base64')]));
  return s;
}

/**
 * Returns `desired` in the form a summary takes: each value replaced by
 * bytes whose base64 is the digest a summary keeps, long annotation values
 * by their digests. plan(owner, summary, summarizeDesired(d)) is `none`
 * exactly when plan(owner, fullSecret, d) is (up to SHA-256 collisions).
 */
export function summarizeDesired(desired: SecretData): SecretData {
  const data = new Map(summarizeData([...desired.data].map(([k, v]) => [k, toBase64(v)] as const)).map(([k, d]) => [k, new Uint8Array(d)]));
  return { ...desired, annotations: annotationDigests(desired.annotations), data };
}
