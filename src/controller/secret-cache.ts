/**
 * What the controller's Secret cache keeps (issue 11 item 6b, issue 17 §1):
 * never a Secret's values. A Secret some sealed resource controls is kept
 * as its identity, the name of the sealed resource it claims, and ONE
 * digest of everything reconcile compares: type, immutability, labels,
 * annotations (kubectl's last-applied copy left out), data and the uid of
 * its controller. Any other labelled Secret is kept as its identity only:
 * the managed-by label is one anyone can set, so it earns no memory.
 *
 * Why one digest and no longer one per key (patch mode, where sealbox owns
 * some keys only): the reconciler now remembers, per resource, the digest
 * of the Secret as it was after its last sync (sync records). A resync
 * compares that record with this digest, so it needs no per-key view: a
 * match means nothing changed since, in patch mode too; a mismatch (drift,
 * or another writer's key in patch mode) GETs the Secret and plans on it,
 * so drift detection stays exact. The one place a per-key view would save a
 * request is the first sync after a restart of a patch-mode Secret or one
 * with extra labels (one GET each, then recorded). A summary's size no
 * longer depends on the number of keys, so a Secret of 30,000 empty values
 * (the re-attack of SECURITY.md 1a.6b) costs no more than any other.
 * An entry was about 210 bytes of heap with its map slot and strings
 * (test/unit/controller/cache-memory.test.ts, docs/DEPLOY.md); 56 fewer
 * since its resourceVersion is kept as a number and its name string is
 * its sealed resource's.
 */
import type { V1Secret } from '../kube/types.js';
import type { KeptVersion, SharedName } from './digest.js';
import { intern, keepVersion, same, shortDigest, versionText } from './digest.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The cache entry of one Secret. */
export interface SecretSummary {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly resourceVersion: string;
  };
  /** The name of the SealedSecret its ownerReferences name as controller (a claim only), or undefined. */
  readonly owner: string | undefined;
  /** secretDigest of the Secret; '' when no sealed resource claims it. */
  readonly digest: string;
}

/**
 * A SecretSummary as one object, its own metadata (a getter): 64 bytes and
 * its strings (issue 17 §1); the resourceVersion a KeptVersion.
 */
class Summary implements SecretSummary {
  readonly name: string;
  readonly namespace: string;
  readonly #version: KeptVersion;
  readonly owner: string | undefined;
  readonly digest: string;

  constructor(name: string, namespace: string, resourceVersion: string, owner: string | undefined, digest: string) {
    this.name = name;
    this.namespace = namespace;
    this.#version = keepVersion(resourceVersion);
    this.owner = owner;
    this.digest = digest;
  }

  get resourceVersion(): string {
    return versionText(this.#version);
  }

  get metadata(): SecretSummary['metadata'] {
    return this;
  }
}

function sortedEntries(m: Readonly<Record<string, string>> | undefined): string[] {
  const entries = Object.entries(m ?? {});
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.flat();
}

/**
 * A digest of what reconcile compares in a Secret: type, immutable, labels,
 * annotations but kubectl's last-applied copy, data (base64 values), and
 * the uid of its controller. Equal digests mean equal Secrets for plan().
 */
export function secretDigest(s: V1Secret): string {
  const meta = s.metadata ?? {};
  const { [LAST_APPLIED]: _lastApplied, ...annotations } = meta.annotations ?? {};
  const controller = (meta.ownerReferences ?? []).find((r) => r.controller === true);
  const labels = sortedEntries(meta.labels);
  const notes = sortedEntries(annotations);
  const data = sortedEntries(s.data);
  return shortDigest([
    s.type ?? 'Opaque', String(s.immutable), controller?.uid ?? '',
    String(labels.length), ...labels, String(notes.length), ...notes, String(data.length), ...data,
  ]);
}

/** A name a sealed resource can have: a DNS subdomain (RFC 1123), at most 253 characters. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The name of the sealed resource that controls `s` by its ownerReferences
 * (a claim only: anyone may write one), or undefined. The API server checks
 * no more of an ownerReference's name than that it is not empty, so a name
 * no sealed resource can have is no claim: the summary would have kept a
 * tenant's megabyte of it (found by attack17).
 */
function claimedOwner(s: V1Secret): string | undefined {
  const ref = (s.metadata?.ownerReferences ?? []).find((r) => r.controller === true && r.kind === 'SealedSecret' && r.apiVersion.startsWith('sealbox.dev/'));
  return ref !== undefined && OBJECT_NAME.test(ref.name) ? ref.name : undefined;
}

/**
 * Returns the cache entry of `s`, a new object; `s` is left as it is. With
 * `old` (the entry it replaces), its name is taken from `old` when equal;
 * without, from `shared` (the sealed-resource cache), when it has one.
 */
export function summarizeSecret(s: V1Secret, old?: SecretSummary, shared?: SharedName): SecretSummary {
  const meta = s.metadata ?? {};
  const fresh = meta.name ?? '';
  const namespace = intern(meta.namespace ?? '');
  const name = same(fresh, old === undefined ? shared?.(namespace, fresh) : old.metadata.name);
  const owner = claimedOwner(s);
  return new Summary(name, namespace, meta.resourceVersion ?? '', owner === name ? name : owner, owner === undefined ? '' : secretDigest(s));
}
