/**
 * List shapes, as Kubernetes reads them. Its decoder treats any object with a
 * top-level `items` field as a list, whatever its kind (`List`, `SecretList`,
 * or none), and `kubectl apply` creates every item, lists inside lists
 * included. So sealbox flattens every such object, at any depth, and looks
 * for Secrets with values hidden anywhere else, including inside strings
 * that hold JSON (a `last-applied-configuration` annotation, say).
 */
import { SealboxError } from '../errors.js';
import type { JsonObject } from './object.js';
import { isObject } from './object.js';

/** Fields a list may carry besides its items; anything else is refused, not ignored. */
const LIST_FIELDS: readonly string[] = ['apiVersion', 'kind', 'metadata', 'items'];
/** Deepest nesting of lists (and of JSON inside strings) followed. */
const MAX_NESTING = 64;
/** Longest string parsed as JSON when looking for Secrets inside it. */
const MAX_JSON_STRING = 4 * 1024 * 1024;

/** True for an object Kubernetes' decoder reads as a list: it has a top-level `items` field. */
export function isListShaped(v: unknown): v is JsonObject {
  return isObject(v) && Object.hasOwn(v, 'items');
}

/**
 * Flattens `v` into the objects Kubernetes would create from it: the items of
 * a list of any kind, recursively; anything else is returned as it is.
 * Throws SealboxError('INPUT') naming `what` for a list whose `items` is not
 * a list, or that carries fields besides apiVersion, kind, metadata and items
 * (an object that is both a list and something else).
 */
export function flattenLists(v: unknown, what: string, depth = 0): unknown[] {
  if (!isListShaped(v)) return [v];
  if (depth >= MAX_NESTING) throw new SealboxError('INPUT', `${what}: lists nested deeper than ${MAX_NESTING} levels`);
  if (!Array.isArray(v.items)) {
    throw new SealboxError('INPUT', `${what}: "items" must be a list; Kubernetes reads any object with "items" as a list`);
  }
  const extra = Object.keys(v).find((k) => !LIST_FIELDS.includes(k));
  if (extra !== undefined) {
    throw new SealboxError('INPUT', `${what} has "items", so Kubernetes reads it as a list, but it also has "${extra.slice(0, 64)}"; split it into a list and separate objects`);
  }
  return (v.items as unknown[]).flatMap((item, i) => flattenLists(item, `${what} items[${i}]`, depth + 1));
}

/** True for an object that says it is a Secret (any capitalisation), whether or not it is valid. */
export function looksLikeSecret(v: unknown): v is JsonObject {
  return isObject(v) && typeof v.kind === 'string' && v.kind.toLowerCase() === 'secret';
}

/** True for a Secret-like object that carries values. */
function secretWithValues(v: unknown): boolean {
  return looksLikeSecret(v) && (v.data !== undefined || v.stringData !== undefined);
}

function fieldPath(parent: string, key: string): string {
  const plain = /^[A-Za-z0-9_-]{1,64}$/.test(key);
  const shown = plain ? key : JSON.stringify(key.slice(0, 64));
  return parent === '' ? shown : `${parent}.${shown}`;
}

function parseJsonString(s: string): unknown {
  const t = s.trimStart();
  if (s.length > MAX_JSON_STRING || (!t.startsWith('{') && !t.startsWith('['))) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function walk(v: unknown, path: string, depth: number, out: string[]): void {
  if (depth > MAX_NESTING * 2 || out.length >= 10) return;
  if (typeof v === 'string') {
    const inner = parseJsonString(v);
    if (inner !== undefined) walk(inner, `${path} (JSON)`, depth + 1, out);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      walk(item, `${path}[${i}]`, depth + 1, out);
    });
    return;
  }
  if (!isObject(v)) return;
  if (secretWithValues(v)) {
    out.push(path === '' ? '(the document itself)' : path);
    return;
  }
  for (const [k, child] of Object.entries(v)) walk(child, fieldPath(path, k), depth + 1, out);
}

/**
 * Returns the paths (`spec.template.objects[0]`, `metadata.annotations."x" (JSON)`)
 * of Secrets with values nested inside `v`, also inside strings that hold
 * JSON; at most 10. `skip` names top-level fields not to search (a Secret's
 * own `data` and `stringData`, which are sealed anyway).
 */
export function nestedSecretPaths(v: unknown, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  if (!isObject(v)) return out;
  for (const [k, child] of Object.entries(v)) {
    if (!skip.includes(k)) walk(child, fieldPath('', k), 1, out);
  }
  return out;
}

/**
 * Rebuilds `v` with `fn` applied to every item that is not itself a list,
 * keeping each list's own fields: the inverse walk of flattenLists, for
 * rewriting a JSON file in place.
 */
export function mapListItems(v: unknown, fn: (item: unknown) => unknown): unknown {
  if (!isListShaped(v) || !Array.isArray(v.items)) return fn(v);
  return { ...v, items: (v.items as unknown[]).map((item) => mapListItems(item, fn)) };
}
