import { SealboxError } from '../errors.js';
import type { Binding, Scope } from './types.js';
import { SCOPES } from './types.js';

/** Format label that starts every authenticated-data string of format v1. */
export const FORMAT_LABEL = 'sealbox.dev/v1';

// RFC 1123 label / subdomain, as Kubernetes validates namespaces and names.
const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Field names of a Secret's data, as Kubernetes validates them.
const FIELD_NAME_RE = /^[-._a-zA-Z0-9]+$/;

/** True when `s` is a valid Kubernetes namespace name. */
export function isNamespaceName(s: string): boolean {
  return s.length <= 63 && NAMESPACE_RE.test(s);
}

/** True when `s` is a valid Kubernetes object name (DNS subdomain). */
export function isObjectName(s: string): boolean {
  return s.length <= 253 && NAME_RE.test(s);
}

/**
 * True when `s` is a valid field name (key) of a Secret's `data` (not a data
 * key, which is the AES key of a group). `__proto__` is valid in
 * Kubernetes but refused here: the Kubernetes client library's serializer
 * drops it, so the controller could never write it.
 */
export function isSecretFieldName(s: string): boolean {
  return s.length <= 253 && FIELD_NAME_RE.test(s) && s !== '.' && s !== '..' && s !== '__proto__';
}

/** True when `s` is one of the scopes. */
export function isScope(s: unknown): s is Scope {
  return typeof s === 'string' && (SCOPES as readonly string[]).includes(s);
}

/**
 * Returns the binding text of format v1: `strict/NAMESPACE/NAME`,
 * `namespace/NAMESPACE` or `cluster`. It is unambiguous because names and
 * namespaces cannot contain `/`. Throws SealboxError('INPUT') when a name the
 * scope needs is missing or invalid.
 */
export function bindingText(b: Binding): string {
  switch (b.scope) {
    case 'cluster':
      return 'cluster';
    case 'namespace':
      requireNamespace(b);
      return `namespace/${b.namespace}`;
    case 'strict':
      requireNamespace(b);
      if (!isObjectName(b.name)) {
        throw new SealboxError('INPUT', `invalid secret name "${b.name}": strict scope binds the name, which must be a DNS subdomain`);
      }
      return `strict/${b.namespace}/${b.name}`;
  }
}

function requireNamespace(b: Binding): void {
  if (!isNamespaceName(b.namespace)) {
    const shown = b.namespace === '' ? 'no namespace' : `invalid namespace "${b.namespace}"`;
    throw new SealboxError('INPUT', `${shown} for secret "${b.name}": ${b.scope} scope binds the namespace`, { hint: { kind: 'namespace-missing' } });
  }
}

/**
 * Additional authenticated data of one value: binds it to its location, its
 * data-key group and its own key name.
 */
export function valueAad(binding: Binding, groupId: string, key: string): Uint8Array {
  return Buffer.from(`${FORMAT_LABEL}\0value\0${bindingText(binding)}\0${groupId}\0${key}`, 'utf8');
}

/** RSA-OAEP label of a cluster-key wrap: binds the wrapped data key to its location. */
export function wrapLabel(binding: Binding): Uint8Array {
  return Buffer.from(`${FORMAT_LABEL}\0wrap\0${bindingText(binding)}`, 'utf8');
}

/** KMS encryption context of a wrap (AWS KMS): binds the wrapped data key to its location. */
export function wrapContext(binding: Binding): Record<string, string> {
  return { 'sealbox.dev/format': 'v1', 'sealbox.dev/binding': bindingText(binding) };
}
