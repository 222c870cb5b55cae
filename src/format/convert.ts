/**
 * The pure part of `sealbox convert`: what a Sealed Secrets SealedSecret
 * (`bitnami.com/v1alpha1`) becomes as a sealbox SealedSecret. The name and
 * namespace stay; the scope maps one to one (strict → strict, namespace-wide
 * → namespace, cluster-wide → cluster); the template's type, labels,
 * annotations and immutable stay; the resource's own labels stay, and its own
 * annotations except Sealed Secrets' scope annotations (sealbox says the
 * scope in `spec.scope`) and the managed ones. `spec.template.data` (Go
 * templates) has no counterpart in sealbox's format: the converter renders
 * each template with the opened values, as Sealed Secrets' controller would,
 * and seals the result as an ordinary value, so the Secret comes out the same.
 */
import type { BitnamiScope } from '../crypto/bitnami.js';
import { BITNAMI_CLUSTER_WIDE, BITNAMI_NAMESPACE_WIDE } from '../crypto/bitnami.js';
import type { Scope } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import type { BitnamiSealed, BitnamiSecret } from './bitnami.js';
import { BITNAMI_API_VERSION, BITNAMI_KIND } from './bitnami.js';
import { placesValuesOnly } from './go-template.js';
import { stripManagedAnnotations } from './managed.js';
import { isObject } from './object.js';
import type { SecretData } from './secret.js';

/**
 * The first `template.data` entry that holds an action other than a plain
 * value reference (`{{ .key }}`, `{{ $.key }}`) or a comment, or undefined.
 * The converter answers the rendered text as ciphertext, whose length is the
 * text's: a function over a value (`{{ hasPrefix "a" .password }}`) in a
 * template of the caller's own would let whoever reaches the endpoint read
 * someone else's value bit by bit from the answer's length or from a
 * refusal. Literal text and plain references only reveal the lengths the
 * Sealed Secrets ciphertexts already show (they render bytes as they are:
 * unsealBitnami).
 */
export function templateBeyondPlain(s: BitnamiSealed): string | undefined {
  return Object.entries(s.template.data).find(([, text]) => !placesValuesOnly(text))?.[0];
}

/** A string map as JSON with its keys in order, so that key order does not count. */
function canonical(m: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * True when `a` and `b` have the same scope and exactly the same template
 * data and encrypted data (compared as canonical JSON): a template `a`
 * carries is then the one whoever deployed `b` wrote, over the same values.
 */
export function sameTemplateAndValues(a: BitnamiSealed, b: BitnamiSealed): boolean {
  return a.scope === b.scope && canonical(a.template.data) === canonical(b.template.data) && canonical(a.encryptedData) === canonical(b.encryptedData);
}

/** The sealbox scope of a Sealed Secrets scope. */
export function scopeOfBitnami(scope: BitnamiScope): Scope {
  if (scope === 'cluster-wide') return 'cluster';
  return scope === 'namespace-wide' ? 'namespace' : 'strict';
}

/** True when the document is a Sealed Secrets SealedSecret. */
export function isBitnamiManifest(v: unknown): v is Record<string, unknown> {
  return isObject(v) && v.apiVersion === BITNAMI_API_VERSION && v.kind === BITNAMI_KIND;
}

function strings(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  // fromEntries defines own properties, so a key named "__proto__" survives.
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * The labels and annotations of a SealedSecret's own metadata that the
 * sealbox resource keeps: labels as they are; annotations without Sealed
 * Secrets' scope annotations and the managed ones (last-applied copies).
 */
export function keptMetadata(obj: unknown): { labels: Record<string, string>; annotations: Record<string, string> } {
  const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : {};
  const scopes = [BITNAMI_CLUSTER_WIDE, BITNAMI_NAMESPACE_WIDE];
  const annotations = Object.fromEntries(Object.entries(stripManagedAnnotations(strings(meta.annotations))).filter(([k]) => !scopes.includes(k)));
  return { labels: strings(meta.labels), annotations };
}

/**
 * The Secret a sealbox resource must seal so that it writes what `opened`
 * (the SealedSecret `s` unsealed, template data rendered) is: its name,
 * namespace, type, labels, annotations, immutable and values. Throws
 * SealboxError('INPUT') naming `what` when the SealedSecret has no name or
 * no namespace (sealbox binds values to both; kubeseal files have them).
 */
export function convertedSecret(s: BitnamiSealed, opened: BitnamiSecret, what: string): SecretData {
  if (s.name === '') throw new SealboxError('INPUT', `${what}: metadata.name is missing; a SealedSecret is converted under its own name`);
  if (s.namespace === '' && s.scope !== 'cluster-wide') {
    throw new SealboxError('INPUT', `${what}: metadata.namespace is missing; set the namespace it is deployed in, then convert it`);
  }
  return {
    name: s.name,
    namespace: s.namespace,
    type: opened.type === undefined || opened.type === '' ? 'Opaque' : opened.type,
    ...(opened.immutable === undefined ? {} : { immutable: opened.immutable }),
    labels: { ...opened.labels },
    annotations: { ...opened.annotations },
    data: new Map(Object.entries(opened.data).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  };
}
