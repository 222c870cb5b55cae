import { SealboxError, quote } from '../errors.js';

/** A plain JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a plain object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns `v` as an object. Throws SealboxError('INPUT') naming `what` otherwise. */
export function requireObject(v: unknown, what: string): JsonObject {
  if (!isObject(v)) throw new SealboxError('INPUT', `${what} must be a mapping`);
  return v;
}

/** Returns `v` as a non-empty string. Throws SealboxError('INPUT') naming `what` otherwise. */
export function requireString(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new SealboxError('INPUT', `${what} must be a non-empty string`);
  return v;
}

/** Returns the optional object at `v`, or `{}`. Throws SealboxError('INPUT') when present but not a mapping. */
export function optionalObject(v: unknown, what: string): JsonObject {
  return v === undefined || v === null ? {} : requireObject(v, what);
}

/**
 * Returns a string → string map (labels, annotations, stringData). Throws
 * SealboxError('INPUT') naming `what` when a value is not a string.
 */
export function stringMap(v: unknown, what: string): Record<string, string> {
  const obj = optionalObject(v, what);
  for (const [k, val] of Object.entries(obj)) {
    if (typeof val !== 'string') throw new SealboxError('INPUT', `${what}.${quote(k)} must be a string`);
  }
  // fromEntries defines own properties, so a key named "__proto__" survives.
  return Object.fromEntries(Object.entries(obj)) as Record<string, string>;
}

/** Rejects fields other than `allowed`, so typos and smuggled fields surface. */
export function rejectUnknown(obj: JsonObject, allowed: readonly string[], what: string): void {
  const extra = Object.keys(obj).find((k) => !allowed.includes(k));
  if (extra !== undefined) {
    throw new SealboxError('INPUT', `${what} has unknown field ${quote(extra)}; allowed: ${allowed.join(', ')}`);
  }
}
