import { fromBase64, toBase64 } from '../crypto/base64.js';
import { isSecretFieldName, isNamespaceName, isObjectName } from '../crypto/binding.js';
import { SealboxError, clip, quote } from '../errors.js';
import { flattenLists } from './lists.js';
import { stripManagedAnnotations } from './managed.js';
import type { JsonObject } from './object.js';
import { isObject, optionalObject, requireObject, stringMap } from './object.js';

/** Kubernetes' limit on the total size of a Secret's data. */
export const MAX_SECRET_BYTES = 1024 * 1024;

/** A Kubernetes Secret as sealbox needs it: identity, template metadata and raw values. */
export interface SecretData {
  readonly name: string;
  /** Empty when the manifest names no namespace. */
  readonly namespace: string;
  readonly type: string;
  readonly immutable?: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly data: ReadonlyMap<string, Uint8Array>;
}

/** True when the document is a `v1 Secret`. */
export function isSecretManifest(v: unknown): v is JsonObject {
  return isObject(v) && v.apiVersion === 'v1' && v.kind === 'Secret';
}

/**
 * Flattens lists of any kind and depth (every object with `items`, as
 * Kubernetes reads them) into their items; other documents pass through.
 * Throws SealboxError('INPUT') naming `what` for a malformed list.
 */
export function expandLists(values: readonly unknown[], what = 'document'): unknown[] {
  return values.flatMap((v) => flattenLists(v, what));
}

/** Checks that the total size of values stays under Kubernetes' Secret limit. */
export function checkSecretSize(data: ReadonlyMap<string, Uint8Array>, what: string): void {
  let total = 0;
  for (const v of data.values()) total += v.length;
  if (total > MAX_SECRET_BYTES) {
    throw new SealboxError('INPUT', `${what}: values total ${total} bytes, over Kubernetes' 1 MiB Secret limit; split the secret`);
  }
}

/**
 * Reads a Secret manifest: `data` (base64) and `stringData` (text, which wins
 * on a shared key, as in Kubernetes). Throws SealboxError('INPUT') naming
 * `what` and the field for anything malformed.
 */
export function parseSecret(v: unknown, what: string): SecretData {
  const obj = requireObject(v, what);
  if (obj.apiVersion !== 'v1' || obj.kind !== 'Secret') {
    const kind = typeof obj.kind === 'string' ? obj.kind : 'untyped document';
    throw new SealboxError('INPUT', `${what} is a ${clip(kind)}, not a v1 Secret`);
  }
  const meta = optionalObject(obj.metadata, `${what} metadata`);
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (name === '') throw new SealboxError('INPUT', `${what}: metadata.name is missing`, { hint: { kind: 'name-missing' } });
  if (!isObjectName(name)) {
    throw new SealboxError('INPUT', `${what}: metadata.name "${name.slice(0, 64)}" is not a valid name: use a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")`, { hint: { kind: 'name-invalid' } });
  }
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (namespace !== '' && !isNamespaceName(namespace)) {
    throw new SealboxError('INPUT', `${what}: metadata.namespace ${quote(namespace)} is not a valid namespace`);
  }
  const data = new Map<string, Uint8Array>();
  for (const [key, val] of Object.entries(optionalObject(obj.data, `${what} data`))) {
    checkKey(key, what);
    if (typeof val !== 'string') throw new SealboxError('INPUT', `${what}: data."${key}" must be a base64 string`);
    data.set(key, fromBase64(val, `${what}: data."${key}"`));
  }
  for (const [key, val] of Object.entries(stringMap(obj.stringData, `${what} stringData`))) {
    checkKey(key, what);
    data.set(key, new Uint8Array(Buffer.from(val, 'utf8')));
  }
  checkSecretSize(data, what);
  const type = obj.type === undefined ? 'Opaque' : obj.type;
  if (typeof type !== 'string' || type === '') throw new SealboxError('INPUT', `${what}: type must be a string`);
  if (obj.immutable !== undefined && typeof obj.immutable !== 'boolean') {
    throw new SealboxError('INPUT', `${what}: immutable must be true or false`);
  }
  return {
    name,
    namespace,
    type,
    ...(obj.immutable === undefined ? {} : { immutable: obj.immutable }),
    labels: stringMap(meta.labels, `${what} metadata.labels`),
    // kubectl's last-applied copy (and the like) holds every value: never keep it.
    annotations: stripManagedAnnotations(stringMap(meta.annotations, `${what} metadata.annotations`)),
    data,
  };
}

function checkKey(key: string, what: string): void {
  if (!isSecretFieldName(key)) {
    throw new SealboxError('INPUT', `${what}: ${quote(key)} is not a valid Secret key (letters, digits, "-", "_", "."; not "__proto__", which Kubernetes clients drop)`);
  }
}

/** Returns the Secret manifest of `s`, values in `data` as base64. */
export function secretManifest(s: SecretData): JsonObject {
  const metadata: JsonObject = { name: s.name };
  if (s.namespace !== '') metadata.namespace = s.namespace;
  if (Object.keys(s.labels).length > 0) metadata.labels = { ...s.labels };
  if (Object.keys(s.annotations).length > 0) metadata.annotations = { ...s.annotations };
  // fromEntries defines own properties, so a key named "__proto__" survives.
  const data = Object.fromEntries([...s.data].map(([k, v]) => [k, toBase64(v)]));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: s.type,
    ...(s.immutable === undefined ? {} : { immutable: s.immutable }),
    data,
  };
}
