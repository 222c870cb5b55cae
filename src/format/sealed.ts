import { COMMITMENT_HEX, GROUP_ID_HEX, KEY_CHECK_BYTES, NONCE_BYTES, TAG_BYTES } from '../crypto/aead.js';
import { fromBase64, toBase64 } from '../crypto/base64.js';
import { isSecretFieldName, isNamespaceName, isObjectName, isScope } from '../crypto/binding.js';
import type { DataKeyGroup } from '../crypto/group.js';
import type { RecipientType, Scope, WrappedKey } from '../crypto/types.js';
import type { SealedValue } from '../crypto/value.js';
import { encodeSealedValue, isGroupId, parseSealedValue } from '../crypto/value.js';
import { SealboxError, clip, quote } from '../errors.js';
import type { JsonObject } from './object.js';
import { isObject, optionalObject, rejectUnknown, requireObject, requireString, stringMap } from './object.js';
import { MAX_SECRET_BYTES } from './secret.js';
import { checkTemplate } from './template.js';

/** apiVersion of sealed resources, format v1. */
export const SEALED_API_VERSION = 'sealbox.dev/v1';
/** kind of sealed resources. */
export const SEALED_KIND = 'SealedSecret';
/** Recipient types format v1 knows. */
export const RECIPIENT_TYPES: readonly RecipientType[] = ['cert', 'aws-kms', 'azure-kv'];
/** Bounds that keep hostile documents cheap to reject. */
export const LIMITS = {
  groups: 1000, recipients: 100, values: 10_000, wrappedBytes: 8192, idChars: 2048,
  /** `strict/` + a 63-character namespace + `/` + a 253-character name. */
  bindingChars: 324,
  /** One sealed value: `sb1:GROUP:` and the base64 of a 1 MiB plaintext with its overhead. */
  valueChars: 1_398_200,
  /** A Secret type (Kubernetes allows a qualified name). */
  typeChars: 253,
  /** Labels and annotations of the template, each. */
  metadataEntries: 256,
  /** A label or annotation key: a 253-character prefix, `/`, a 63-character name. */
  metadataKeyChars: 317,
  /** A label value (Kubernetes' own limit). */
  labelValueChars: 63,
  /** All annotations of the template together, keys included (Kubernetes' own limit). */
  annotationBytes: 256 * 1024,
} as const;

/** A data-key group as written in a document: the group and the binding it was sealed for. */
export interface SealedGroup extends DataKeyGroup {
  /** Binding text recorded at seal time (`strict/NS/NAME`, `namespace/NS`, `cluster`). */
  readonly binding: string;
}

/** The Secret fields a sealed resource carries in plaintext. */
export interface SecretTemplate {
  readonly type: string;
  readonly immutable?: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A parsed, validated sealed resource. */
export interface SealedSecret {
  readonly name: string;
  /** Empty when the document names no namespace. */
  readonly namespace: string;
  /** The resource's own labels and annotations, kept as written. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly scope: Scope;
  readonly template: SecretTemplate;
  readonly encryptedData: ReadonlyMap<string, SealedValue>;
  readonly dataKeys: readonly SealedGroup[];
}

/** True when the document claims to be a sealbox sealed resource (any version). */
export function isSealedManifest(v: unknown): v is JsonObject {
  return isObject(v) && v.kind === SEALED_KIND && typeof v.apiVersion === 'string' && v.apiVersion.startsWith('sealbox.dev/');
}

/**
 * Parses and validates a sealed resource: shapes, sizes, encodings, and that
 * every value names a group the document has. Throws SealboxError('INPUT')
 * naming `what` and the field; SealboxError('SCOPE') for a value whose group
 * is not in this document (copied from another resource).
 */
export function parseSealedSecret(v: unknown, what: string): SealedSecret {
  const obj = requireObject(v, what);
  if (obj.apiVersion !== SEALED_API_VERSION || obj.kind !== SEALED_KIND) {
    const show = (v: unknown): string => (typeof v === 'string' ? clip(v, 40) : `(${v === null ? 'null' : typeof v})`);
    const got = `${show(obj.apiVersion)} ${show(obj.kind)}`;
    throw new SealboxError('INPUT', `${what} is "${got}", not ${SEALED_API_VERSION} ${SEALED_KIND}; upgrade sealbox if it is a newer format`);
  }
  const meta = optionalObject(obj.metadata, `${what} metadata`);
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!isObjectName(name)) throw new SealboxError('INPUT', `${what}: metadata.name is missing or invalid`);
  const namespace = meta.namespace === undefined ? '' : requireString(meta.namespace, `${what}: metadata.namespace`);
  if (namespace !== '' && !isNamespaceName(namespace)) {
    throw new SealboxError('INPUT', `${what}: metadata.namespace ${quote(namespace)} is not a valid namespace`);
  }
  const spec = requireObject(obj.spec, `${what} spec`);
  rejectUnknown(spec, ['scope', 'template', 'encryptedData', 'dataKeys'], `${what} spec`);
  if (!isScope(spec.scope)) throw new SealboxError('INPUT', `${what}: spec.scope must be strict, namespace or cluster`);
  const dataKeys = parseGroups(spec.dataKeys, what);
  const groupIds = new Set(dataKeys.map((g) => g.id));
  const encryptedData = new Map<string, SealedValue>();
  const entries = Object.entries(optionalObject(spec.encryptedData, `${what} spec.encryptedData`));
  if (entries.length > LIMITS.values) throw new SealboxError('INPUT', `${what}: more than ${LIMITS.values} values`);
  for (const [key, text] of entries) {
    const field = `${what}: value ${quote(key)}`;
    if (!isSecretFieldName(key)) throw new SealboxError('INPUT', `${field} has an invalid key name`);
    if (typeof text !== 'string') throw new SealboxError('INPUT', `${field} must be a string`);
    if (text.length > LIMITS.valueChars) throw new SealboxError('INPUT', `${field} is longer than a 1 MiB Secret value; split the secret`);
    const value = parseSealedValue(text, field);
    if (!groupIds.has(value.groupId)) {
      throw new SealboxError('SCOPE', `${field} belongs to data-key group ${value.groupId}, which this resource does not have: it was copied from another sealed secret; seal it again here`);
    }
    encryptedData.set(key, value);
  }
  checkSealedSize(encryptedData, what);
  return {
    name,
    namespace,
    labels: stringMap(meta.labels, `${what} metadata.labels`),
    annotations: stringMap(meta.annotations, `${what} metadata.annotations`),
    scope: spec.scope,
    template: parseTemplate(spec.template, what),
    encryptedData,
    dataKeys,
  };
}

/**
 * Refuses values whose plaintexts would total more than a Secret may hold
 * (ciphertext length is plaintext length plus a fixed overhead), so an
 * oversized resource fails as INPUT before any key is used, not later as an
 * API error when the Secret is written.
 */
function checkSealedSize(values: ReadonlyMap<string, SealedValue>, what: string): void {
  let total = 0;
  for (const v of values.values()) total += v.sealed.length - (KEY_CHECK_BYTES + NONCE_BYTES + TAG_BYTES);
  if (total > MAX_SECRET_BYTES) {
    throw new SealboxError('INPUT', `${what}: values total ${total} bytes, over Kubernetes' 1 MiB Secret limit; split the secret`);
  }
}

function parseTemplate(v: unknown, what: string): SecretTemplate {
  const t = optionalObject(v, `${what} spec.template`);
  rejectUnknown(t, ['type', 'immutable', 'metadata'], `${what} spec.template`);
  const meta = optionalObject(t.metadata, `${what} spec.template.metadata`);
  rejectUnknown(meta, ['labels', 'annotations'], `${what} spec.template.metadata`);
  const type = t.type === undefined ? 'Opaque' : requireString(t.type, `${what}: spec.template.type`);
  if (type.length > LIMITS.typeChars) throw new SealboxError('INPUT', `${what}: spec.template.type is longer than ${LIMITS.typeChars} characters`);
  if (t.immutable !== undefined && typeof t.immutable !== 'boolean') {
    throw new SealboxError('INPUT', `${what}: spec.template.immutable must be true or false`);
  }
  const template: SecretTemplate = {
    type,
    ...(t.immutable === undefined ? {} : { immutable: t.immutable }),
    labels: boundedMap(meta.labels, LIMITS.labelValueChars, `${what} spec.template.metadata.labels`),
    annotations: boundedMap(meta.annotations, LIMITS.annotationBytes, `${what} spec.template.metadata.annotations`),
  };
  checkTemplate(template, what, 'spec.template');
  return template;
}

const COMMITMENT_RE = new RegExp(`^[0-9a-f]{${COMMITMENT_HEX}}$`);

/**
 * A string map within the CRD's limits: at most LIMITS.metadataEntries
 * entries, keys of at most LIMITS.metadataKeyChars, each value and all
 * entries together at most `maxValue` characters. Throws SealboxError('INPUT').
 */
function boundedMap(v: unknown, maxValue: number, what: string): Record<string, string> {
  const map = stringMap(v, what);
  const entries = Object.entries(map);
  if (entries.length > LIMITS.metadataEntries) throw new SealboxError('INPUT', `${what}: more than ${LIMITS.metadataEntries} entries`);
  let total = 0;
  for (const [k, val] of entries) {
    if (k.length > LIMITS.metadataKeyChars) throw new SealboxError('INPUT', `${what}: key ${quote(k)} is longer than ${LIMITS.metadataKeyChars} characters`);
    if (val.length > maxValue) throw new SealboxError('INPUT', `${what}.${quote(k)} is longer than ${maxValue} characters`);
    total += k.length + val.length;
  }
  if (total > LIMITS.annotationBytes) throw new SealboxError('INPUT', `${what}: more than ${LIMITS.annotationBytes} characters in all`);
  return map;
}

function parseGroups(v: unknown, what: string): SealedGroup[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SealboxError('INPUT', `${what}: spec.dataKeys must be a list`);
  if (v.length > LIMITS.groups) throw new SealboxError('INPUT', `${what}: more than ${LIMITS.groups} data-key groups; compact them`);
  const seen = new Set<string>();
  return v.map((item, i) => {
    const at = `${what}: spec.dataKeys[${i}]`;
    const g = requireObject(item, at);
    rejectUnknown(g, ['group', 'commitment', 'binding', 'recipients'], at);
    const id = requireString(g.group, `${at}.group`);
    if (!isGroupId(id)) throw new SealboxError('INPUT', `${at}.group must be ${GROUP_ID_HEX} lowercase hex digits`);
    if (seen.has(id)) throw new SealboxError('INPUT', `${at}.group ${id} appears twice`);
    seen.add(id);
    const commitment = requireString(g.commitment, `${at}.commitment`);
    if (!COMMITMENT_RE.test(commitment)) throw new SealboxError('INPUT', `${at}.commitment must be ${COMMITMENT_HEX} lowercase hex digits`);
    const binding = requireString(g.binding, `${at}.binding`);
    if (binding.length > LIMITS.bindingChars) throw new SealboxError('INPUT', `${at}.binding is longer than ${LIMITS.bindingChars} characters; no valid binding is`);
    if (!Array.isArray(g.recipients) || g.recipients.length === 0) {
      throw new SealboxError('INPUT', `${at}.recipients must be a non-empty list`);
    }
    if (g.recipients.length > LIMITS.recipients) {
      throw new SealboxError('INPUT', `${at}: more than ${LIMITS.recipients} recipients`);
    }
    const recipients = g.recipients.map((r, j) => parseRecipient(r, `${at}.recipients[${j}]`));
    return { id, commitment, binding, recipients };
  });
}

function parseRecipient(v: unknown, at: string): WrappedKey {
  const r = requireObject(v, at);
  rejectUnknown(r, ['type', 'id', 'wrapped'], at);
  const type = r.type;
  if (typeof type !== 'string' || !(RECIPIENT_TYPES as readonly string[]).includes(type)) {
    throw new SealboxError('INPUT', `${at}.type must be one of ${RECIPIENT_TYPES.join(', ')}`);
  }
  const id = requireString(r.id, `${at}.id`);
  if (id.length > LIMITS.idChars) throw new SealboxError('INPUT', `${at}.id is too long`);
  if (type === 'cert' && !/^[0-9a-f]{64}$/.test(id)) {
    throw new SealboxError('INPUT', `${at}.id must be a SHA-256 fingerprint (64 lowercase hex digits)`);
  }
  const wrappedText = requireString(r.wrapped, `${at}.wrapped`);
  if (wrappedText.length > (LIMITS.wrappedBytes * 4) / 3 + 4) throw new SealboxError('INPUT', `${at}.wrapped is too long`);
  return { type: type as RecipientType, id, wrapped: fromBase64(wrappedText, `${at}.wrapped`) };
}

/** Returns the manifest of a sealed resource; the inverse of parseSealedSecret. */
export function sealedManifest(s: SealedSecret): JsonObject {
  const metadata: JsonObject = { name: s.name };
  if (s.namespace !== '') metadata.namespace = s.namespace;
  if (Object.keys(s.labels).length > 0) metadata.labels = { ...s.labels };
  if (Object.keys(s.annotations).length > 0) metadata.annotations = { ...s.annotations };
  const templateMeta: JsonObject = {};
  if (Object.keys(s.template.labels).length > 0) templateMeta.labels = { ...s.template.labels };
  if (Object.keys(s.template.annotations).length > 0) templateMeta.annotations = { ...s.template.annotations };
  const template: JsonObject = { type: s.template.type };
  if (s.template.immutable !== undefined) template.immutable = s.template.immutable;
  if (Object.keys(templateMeta).length > 0) template.metadata = templateMeta;
  // fromEntries defines own properties, so a key named "__proto__" survives.
  const encryptedData = Object.fromEntries([...s.encryptedData].map(([k, v]) => [k, encodeSealedValue(v)]));
  return {
    apiVersion: SEALED_API_VERSION,
    kind: SEALED_KIND,
    metadata,
    spec: { scope: s.scope, template, encryptedData, dataKeys: s.dataKeys.map(groupManifest) },
  };
}

/** Returns the manifest of one data-key group. */
export function groupManifest(g: SealedGroup): JsonObject {
  return {
    group: g.id,
    commitment: g.commitment,
    binding: g.binding,
    recipients: g.recipients.map((r) => ({ type: r.type, id: r.id, wrapped: toBase64(r.wrapped) })),
  };
}
