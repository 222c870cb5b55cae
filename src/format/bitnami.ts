/**
 * Sealed Secrets' `bitnami.com/v1alpha1` SealedSecret documents: parsing,
 * and unsealing into the Secret Sealed Secrets' controller writes
 * (`SealedSecret.Unseal` in pkg/apis/sealedsecrets/v1alpha1): the template's
 * metadata, type and immutable, every encryptedData value opened, then each
 * template.data entry rendered as a Go template over the opened values.
 * Values name no key: `open` tries the keys.
 */
import { bitnamiLabel, bitnamiScopeOf } from '../crypto/bitnami.js';
import type { BitnamiScope } from '../crypto/bitnami.js';
import { isBase64 } from '../crypto/base64.js';
import { SealboxError } from '../errors.js';
import { placesValuesOnly, renderGoTemplate } from './go-template.js';
import { MAX_TEMPLATE_CHARS, MAX_TEMPLATE_WORK } from './go-template-funcs.js';
import { isObject } from './object.js';

/** API version and kind of a Sealed Secrets SealedSecret. */
export const BITNAMI_API_VERSION = 'bitnami.com/v1alpha1';
export const BITNAMI_KIND = 'SealedSecret';
/** Annotation prefix of Sealed Secrets. */
const ANNO = 'sealedsecrets.bitnami.com/';
/** A Secret with this annotation "true" may be taken over by a SealedSecret. */
export const BITNAMI_MANAGED = `${ANNO}managed`;
/** A Secret with this annotation "true" is patched, not replaced. */
export const BITNAMI_PATCH = `${ANNO}patch`;
/** On the template: "true" leaves the owner reference out. */
export const BITNAMI_SKIP_OWNER = `${ANNO}skip-set-owner-references`;
/** The label Sealed Secrets puts on its key Secrets (value `active`; `compromised` keys are not used). */
export const SEALED_SECRETS_KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';

/** The parts of a SealedSecret the unsealer reads. */
export interface BitnamiSealed {
  readonly namespace: string;
  readonly name: string;
  readonly scope: BitnamiScope;
  readonly encryptedData: Readonly<Record<string, string>>;
  readonly template: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly type?: string;
    readonly immutable?: boolean;
    readonly data: Readonly<Record<string, string>>;
  };
}

/** The Secret a SealedSecret unseals to (metadata and values; owner added by the controller). */
export interface BitnamiSecret {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly type?: string;
  readonly immutable?: boolean;
  /** base64 values. */
  readonly data: Record<string, string>;
}

function strings(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * Parses a SealedSecret object. The scope comes from the object's own
 * annotations, as Sealed Secrets reads it when unsealing. Throws
 * SealboxError('INPUT') naming `what` for the legacy `spec.data` (refused, as
 * Sealed Secrets does by default) and for a document that is not one.
 */
export function parseBitnamiSealed(obj: unknown, what: string): BitnamiSealed {
  if (!isObject(obj) || !isObject(obj.metadata) || !isObject(obj.spec)) throw new SealboxError('INPUT', `${what} is not a SealedSecret: it lacks metadata or spec`);
  const meta = obj.metadata;
  const spec = obj.spec;
  if (spec.data !== undefined && spec.data !== null) {
    throw new SealboxError('INPUT', `${what}: using deprecated 'data' field, use 'encryptedData'; re-seal it with kubeseal (sealbox, like Sealed Secrets by default, refuses the legacy single-blob format)`);
  }
  const template = isObject(spec.template) ? spec.template : {};
  const tmeta = isObject(template.metadata) ? template.metadata : {};
  const labels = strings(tmeta.labels);
  const annotations = strings(tmeta.annotations);
  return {
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    name: typeof meta.name === 'string' ? meta.name : '',
    scope: bitnamiScopeOf(strings(meta.annotations)),
    encryptedData: strings(spec.encryptedData) ?? {},
    template: {
      ...(labels === undefined ? {} : { labels }),
      ...(annotations === undefined ? {} : { annotations }),
      ...(typeof template.type === 'string' ? { type: template.type } : {}),
      ...(typeof template.immutable === 'boolean' ? { immutable: template.immutable } : {}),
      data: strings(template.data) ?? {},
    },
  };
}

/**
 * Values that no key opens, at most, before unsealing stops trying the rest:
 * each failure costs one RSA private operation per key, and a tenant's
 * SealedSecret can hold thousands of values.
 */
export const MAX_FAILED_VALUES = 8;

/** Opens one decoded value with some key and the label; null when no key opens it. */
export type BitnamiOpener = (value: Uint8Array, label: Uint8Array) => Promise<Uint8Array | null>;

/**
 * Renders each template over the opened values (`text` as UTF-8 text,
 * `bytes` one character a byte); returns the results as base64. Throws
 * SealboxError('INPUT') as renderGoTemplate does.
 */
function renderTemplates(templates: Readonly<Record<string, string>>, text: Record<string, string>, bytes: Record<string, string>, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  let budget = MAX_TEMPLATE_CHARS; // all of them together: a Secret holds 1 MiB
  const work = { left: MAX_TEMPLATE_WORK }; // and the CPU they take (attack19)
  for (const [key, template] of Object.entries(templates)) {
    // Go renders bytes: a template that only places values gives them as they
    // are, not as UTF-8 text (a byte not UTF-8 became 3 bytes of U+FFFD, and
    // /v1/convert's answer length told how many a value held).
    const exact = placesValuesOnly(template);
    const where = `${what}: template data "${key}"`;
    const rendered = exact ? renderGoTemplate(Buffer.from(template, 'utf8').toString('latin1'), bytes, where, budget, work) : renderGoTemplate(template, text, where, budget, work);
    budget -= rendered.length;
    out[key] = Buffer.from(rendered, exact ? 'latin1' : 'utf8').toString('base64');
  }
  return out;
}

/**
 * Unseals a SealedSecret. Throws SealboxError naming every value that failed
 * (`NO_KEY` when no key opens one, `INPUT` for bad base64 or a template that
 * cannot be rendered); no value, no key is ever part of the message.
 */
export async function unsealBitnami(s: BitnamiSealed, open: BitnamiOpener, what: string): Promise<BitnamiSecret> {
  const label = bitnamiLabel(s.scope, s.namespace, s.name);
  const data: Record<string, string> = {};
  const text: Record<string, string> = {};
  const bytes: Record<string, string> = {};
  const failed: string[] = [];
  let untried = 0;
  for (const [key, value] of Object.entries(s.encryptedData)) {
    // A failed value cost one RSA operation per key: past a few, the rest are not tried.
    if (failed.length >= MAX_FAILED_VALUES) untried++;
    const plain = failed.length < MAX_FAILED_VALUES && isBase64(value) ? await open(new Uint8Array(Buffer.from(value, 'base64')), label) : null;
    if (plain === null) {
      if (failed.length < MAX_FAILED_VALUES) failed.push(key);
      continue;
    }
    data[key] = Buffer.from(plain).toString('base64');
    text[key] = Buffer.from(plain).toString('utf8');
    bytes[key] = Buffer.from(plain).toString('latin1'); // one character a byte
  }
  if (failed.length > 0) {
    const more = untried > 0 ? `, and ${String(untried)} more values not tried` : '';
    throw new SealboxError('NO_KEY', `${what}: no key could decrypt secret (${failed.sort().join(', ')}${more}); it was sealed for another key or for another ${s.scope === 'strict' ? 'namespace or name' : 'namespace'}, or it was altered`);
  }
  Object.assign(data, renderTemplates(s.template.data, text, bytes, what));
  const t = s.template;
  return {
    ...(t.labels === undefined ? {} : { labels: { ...t.labels } }),
    ...(t.annotations === undefined ? {} : { annotations: { ...t.annotations } }),
    ...(t.type === undefined ? {} : { type: t.type }),
    ...(t.immutable === undefined ? {} : { immutable: t.immutable }),
    data,
  };
}
