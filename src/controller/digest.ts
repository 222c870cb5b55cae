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

