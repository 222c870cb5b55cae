/** A path into a JSON-like document: keys and list indexes. */
export type Path = readonly (string | number)[];

/** Marks a value to remove rather than replace. */
export const DELETE = Symbol('delete');

/** A deep copy of `doc` with the value at `path` replaced by `value`, or removed when it is DELETE. */
export function withPath(doc: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value === DELETE ? undefined : value;
  const copy = structuredClone(doc);
  let node = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? '';
  if (value === DELETE) Reflect.deleteProperty(node, last);
  else node[last] = value;
  return copy;
}

/** Every path to a value inside `doc`, the root included. */
export function pathsOf(doc: unknown, prefix: Path = []): Path[] {
  if (doc === null || typeof doc !== 'object') return [prefix];
  const children = Object.entries(doc).flatMap(([k, c]) => pathsOf(c, [...prefix, Array.isArray(doc) ? Number(k) : k]));
  return [prefix, ...children];
}
