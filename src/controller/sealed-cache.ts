/**
 * What the controller's sealed-resource cache keeps of each sealed resource
 * (issue 17 §1): its identity, generation, whether it is being deleted,
 * whether it asks for patch mode, a digest of its spec and a digest of its
 * status as nextStatus compares it — never its ciphertext. Reconcile GETs
 * the full object when it must unseal (or takes it from the initial list
 * while that is still in memory, see ColdStart).
 */
import type { SealedSecretObject } from '../kube/types.js';
import type { KeptVersion, SharedName } from './digest.js';
import { canonicalJson, intern, keepVersion, same, shortDigest, versionText } from './digest.js';
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

/**
 * A SealedSummary as one object, its own metadata (a getter), so that an
 * entry costs one object and no key of its own: 96 bytes and its strings
 * (issue 17 §1); the resourceVersion a KeptVersion. Copy it with
 * withStatus(), not a spread: a spread loses `metadata` and the
 * resourceVersion (getters).
 */
class Summary implements SealedSummary, SummaryMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly #version: KeptVersion;
  readonly generation: number;
  readonly deleting: boolean;
  readonly patch: boolean;
  readonly spec: string;
  readonly status: StatusView;

  constructor(m: SummaryMetadata, deleting: boolean, patch: boolean, spec: string, status: StatusView) {
    this.name = m.name;
    this.namespace = m.namespace;
    this.uid = m.uid;
    this.#version = keepVersion(m.resourceVersion);
    this.generation = m.generation;
    this.deleting = deleting;
    this.patch = patch;
    this.spec = spec;
    this.status = status;
  }

  get resourceVersion(): string {
    return versionText(this.#version);
  }

  get metadata(): SummaryMetadata {
    return this;
  }
}

/** The digest of a sealed resource's spec that its summary keeps. */
export function specDigest(spec: unknown): string {
  return shortDigest([canonicalJson(spec ?? null)]);
}

/**
 * Returns the summary of `obj`, a new object; `obj` is left as it is.
 * With `old` (the entry it replaces in a cache), equal strings are taken
 * from `old`, so that maps keyed by the first entry's name share it;
 * without, the name is `shared`'s (the Secret cache's), when it has one.
 */
export function summarizeSealed(obj: SealedSecretObject, old?: SealedSummary, shared?: SharedName): SealedSummary {
  const meta = obj.metadata ?? {};
  const m = summaryMetadata(obj);
  const was = old?.metadata;
  const name = same(m.name, was === undefined ? shared?.(m.namespace, m.name) : was.name);
  const metadata = { ...m, name, uid: same(m.uid, was?.uid) };
  return new Summary(metadata, meta.deletionTimestamp !== undefined, meta.annotations?.[PATCH_ANNOTATION] === 'true', specDigest(obj.spec), statusView(obj.status));
}

/** Returns a copy of `s` whose status is `status`. */
export function withStatus(s: SealedSummary, status: StatusView): SealedSummary {
  return new Summary(s.metadata, s.deleting, s.patch, s.spec, status);
}
