/**
 * Small digests and shared strings for the controller's caches, which keep
 * digests of what reconcile compares instead of the objects themselves.
 */
import { createHash } from 'node:crypto';

/** Bytes of SHA-256 kept in a cache digest: 128 bits, 22 base64url characters. */
const DIGEST_BYTES = 16;

/**
 * A short digest of `parts`, each length-prefixed so that no two lists of
 * parts share an input. 128 bits: a match is never a coincidence, and
 * finding a second input with the same digest is out of reach.
 */
export function shortDigest(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${String(p.length)}:${p};`);
  return h.digest().subarray(0, DIGEST_BYTES).toString('base64url');
}

/** JSON with object keys sorted, so that equal values give equal text whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

/**
 * A resourceVersion as a cache entry keeps it: the number when it is the
 * decimal text of one below 10^9 (etcd's revisions are, for a long while),
 * which V8 stores in the entry's own field; the string otherwise. Two per
 * resource (the sealed resource's and its Secret's) were 48 bytes of heap
 * as strings (issue 17 §1). versionText gives the exact text back, so a
 * resourceVersion stays an opaque string to everything that reads it.
 */
export type KeptVersion = number | string;

const SMALL_DECIMAL = /^[1-9][0-9]{0,8}$/;

/** Returns `v` as a cache entry keeps it (KeptVersion). */
export function keepVersion(v: string): KeptVersion {
  return SMALL_DECIMAL.test(v) ? Number(v) : v;
}

/** The resourceVersion text of a kept version. */
export function versionText(v: KeptVersion): string {
  return typeof v === 'number' ? String(v) : v;
}

/**
 * `fresh`, or `kept` when it is equal: a cache entry keeps the strings of
 * the one it replaces, or of the other cache's, so that equal text is one
 * string in memory.
 */
export function same(fresh: string, kept: string | undefined): string {
  return kept === fresh ? kept : fresh;
}

/**
 * Where a summary looks for the name string the other cache already keeps
 * for the same namespace and name (a Secret has its sealed resource's
 * name), so that the two caches and every map keyed by them share one.
 */
export type SharedName = (namespace: string, name: string) => string | undefined;

/**
 * Few distinct strings repeat across many summaries (namespaces, condition
 * digests, transition times of one cold start): one copy of each, up to a
 * bound, so that a hostile variety costs at most the bound.
 */
const INTERN_MAX = 4096;
const interned = new Map<string, string>();

/** Longest string shared: a namespace or a condition's type, status or time is far shorter. */
const INTERN_CHARS = 256;

/** Returns the shared copy of `s` (or `s` itself once the pool is full, or when it is long). */
export function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < INTERN_MAX && s.length <= INTERN_CHARS) interned.set(s, s);
  return s;
}

