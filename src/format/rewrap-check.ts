/**
 * What `sealbox reseal` accepts back from a controller's re-wrap endpoint.
 * The answer comes from a process the user does not control (and, over a
 * network, from whoever sits on the path), so it is checked field by field
 * against the resource sent: only the recipients blocks may change, and only
 * the way the endpoint changes them.
 */
import { toBase64 } from '../crypto/base64.js';
import type { WrappedKey } from '../crypto/types.js';
import { encodeSealedValue } from '../crypto/value.js';
import { SealboxError } from '../errors.js';
import type { SealedSecret } from './sealed.js';

const stanzaKey = (r: WrappedKey): string => `${r.type}\u0000${r.id}\u0000${toBase64(r.wrapped)}`;

/** Key-sorted JSON, so two records compare equal whatever order the answer wrote them in. */
function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
}

/** The refusal of an answer that changes `field`, which `change` (a re-wrap, a compaction) never touches. */
export function refuse(what: string, field: string, change = 'a re-wrap'): SealboxError {
  return new SealboxError('TAMPERED', `${what}: the controller's answer changes ${field}, which ${change} never touches; nothing written`, { hint: { kind: 'controller-check' } });
}

/** Throws refuse(…) unless the fields outside spec.encryptedData and spec.dataKeys are unchanged. */
export function checkOuter(before: SealedSecret, after: SealedSecret, what: string, change = 'a re-wrap'): void {
  const fields: [string, unknown, unknown][] = [
    ['metadata.name', before.name, after.name],
    ['metadata.namespace', before.namespace, after.namespace],
    ['metadata.labels', before.labels, after.labels],
    ['metadata.annotations', before.annotations, after.annotations],
    ['spec.scope', before.scope, after.scope],
    ['spec.template', before.template, after.template],
  ];
  for (const [field, a, b] of fields) if (canonical(a) !== canonical(b)) throw refuse(what, field, change);
}

function checkValues(before: SealedSecret, after: SealedSecret, what: string): void {
  if (after.encryptedData.size !== before.encryptedData.size) throw refuse(what, 'the set of values');
  for (const [key, value] of before.encryptedData) {
    const next = after.encryptedData.get(key);
    // Names only, never values: a sealed value is safe to name, but not needed.
    if (next === undefined) throw refuse(what, `the set of values (value "${key.slice(0, 64)}" is missing)`);
    if (encodeSealedValue(next) !== encodeSealedValue(value)) throw refuse(what, `the ciphertext of value "${key.slice(0, 64)}"`);
  }
}

/**
 * Checks one group's recipients: every stanza kept is byte-identical, only
 * certificate stanzas are removed (the controller retires only its own older
 * keys), only certificate stanzas are added, and the group keeps at least
 * one. Returns the ids of the stanzas added.
 */
function checkRecipients(before: readonly WrappedKey[], after: readonly WrappedKey[], at: string, what: string): string[] {
  const old = new Set(before.map(stanzaKey));
  const sameId = (a: WrappedKey, b: WrappedKey): boolean => a.type === b.type && a.id === b.id;
  const added = after.filter((r) => !old.has(stanzaKey(r)));
  for (const r of added) {
    if (r.type !== 'cert') throw refuse(what, `${at}: a ${r.type} stanza`);
    if (before.some((b) => sameId(b, r))) throw refuse(what, `${at}: the wrapped key of an existing recipient`);
  }
  const now = new Set(after.map(stanzaKey));
  for (const r of before) if (!now.has(stanzaKey(r)) && r.type !== 'cert') throw refuse(what, `${at}: it removes a ${r.type} recipient`);
  if (after.length === 0) throw refuse(what, `${at}: it leaves no recipient`);
  return added.map((r) => r.id);
}

/**
 * Throws SealboxError('TAMPERED') unless `after`, a controller's answer to a
 * re-wrap of `before`, differs from `before` only in its recipients blocks,
 * and only as the endpoint changes them: same name, namespace, labels,
 * annotations, scope and template; the same values with byte-identical
 * ciphertexts; the same groups in the same order with the same key
 * commitments and bindings; in
 * each group, kept stanzas byte-identical, only certificate stanzas removed,
 * and at most one certificate added, the same one in every group.
 */
export function checkRewrapAnswer(before: SealedSecret, after: SealedSecret, what: string): void {
  checkOuter(before, after, what);
  checkValues(before, after, what);
  if (after.dataKeys.length !== before.dataKeys.length) throw refuse(what, 'the set of data-key groups');
  const addedIds = new Set<string>();
  before.dataKeys.forEach((g, i) => {
    const next = after.dataKeys[i];
    const at = `spec.dataKeys[${i}]`;
    if (next?.id !== g.id) throw refuse(what, `${at}.group`);
    if (next.commitment !== g.commitment) throw refuse(what, `${at}.commitment`);
    if (next.binding !== g.binding) throw refuse(what, `${at}.binding`);
    const added = checkRecipients(g.recipients, next.recipients, at, what);
    if (added.length > 1) throw refuse(what, `${at}: it adds more than one recipient`);
    for (const id of added) addedIds.add(id);
  });
  if (addedIds.size > 1) throw refuse(what, 'the recipients: it adds different keys to different groups');
}
