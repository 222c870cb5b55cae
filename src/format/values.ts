/**
 * Value edits with decrypt rights (`sealbox edit`): only values that changed
 * are sealed again, under a FRESH data key wrapped for the resource's
 * recipients, and unchanged values keep their exact ciphertext. Never under
 * an existing group's data key: whoever added that group (`--merge-into`, or
 * by hand with a random source of their own) knows its key, and would read
 * every value sealed under it afterwards. A resource whose groups name
 * different recipient sets is refused until it is rotated, so a recipient
 * that only one group names cannot ride along into the new group.
 */
import type { RandomSource } from '../crypto/aead.js';
import { secureRandom } from '../crypto/aead.js';
import { bindingText } from '../crypto/binding.js';
import { describeRecipient, sealGroup } from '../crypto/group.js';
import { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper, KeyWrapper, RecipientRef } from '../crypto/types.js';
import type { SealedValue } from '../crypto/value.js';
import { SealboxError } from '../errors.js';
import { bindingOf, unsealSealedSecret } from './seal.js';
import type { SealedSecret } from './sealed.js';

/** What changed between the sealed values and the new ones. */
export interface ValueChanges {
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** Options of setSealedValues. */
export interface SetValuesOptions {
  /** A wrapper for each recipient of the resource (others are ignored). */
  readonly wrappers: readonly KeyWrapper[];
  readonly random?: RandomSource;
  readonly cache?: DataKeyCache;
}

const refKey = (r: RecipientRef): string => `${r.type}\0${r.id}`;

/**
 * Returns the one recipient set every data-key group of the resource names
 * (in the first group's order; empty when there is no group). Throws
 * SealboxError('INPUT') when groups name different recipients.
 */
export function recipientSetOf(s: SealedSecret, what: string): RecipientRef[] {
  const [first] = s.dataKeys;
  if (first === undefined) return [];
  const want = new Set(first.recipients.map(refKey));
  for (const g of s.dataKeys) {
    const have = new Set(g.recipients.map(refKey));
    if (have.size !== want.size || [...have].some((k) => !want.has(k))) {
      throw new SealboxError('INPUT', `${what}: its data-key groups have different recipients (group ${first.id} and group ${g.id}); run "sealbox rotate" first so every group has one recipient set, then edit`);
    }
  }
  const seen = new Set<string>();
  return first.recipients.filter((r) => !seen.has(refKey(r)) && seen.add(refKey(r))).map((r) => ({ type: r.type, id: r.id }));
}

/**
 * Returns the resource with its values set to `values`: changed and added
 * values sealed under a fresh data key wrapped for the resource's
 * recipients (one new group), removed ones dropped, groups left without
 * values dropped, everything else byte-identical (the same object when
 * nothing changed), and what changed. Throws SealboxError: what unsealing
 * throws; INPUT when groups name different recipients, when a recipient has
 * no wrapper, or when values are added to a resource that has no data-key
 * group (seal it again instead); what wrapping throws.
 */
export async function setSealedValues(
  s: SealedSecret,
  values: ReadonlyMap<string, Uint8Array>,
  unwrappers: readonly KeyUnwrapper[],
  what: string,
  opts: SetValuesOptions,
): Promise<{ sealed: SealedSecret; changes: ValueChanges }> {
  const recipients = recipientSetOf(s, what);
  // A shared cache (the caller unsealed before) saves a second unwrap per group.
  const cache = opts.cache ?? new DataKeyCache(s.dataKeys.length + 1);
  const current = (await unsealSealedSecret(s, unwrappers, what, cache)).data;
  try {
    const changed = [...values.keys()].filter((k) => current.has(k) && !equal(current.get(k) ?? new Uint8Array(), values.get(k) ?? new Uint8Array()));
    const added = [...values.keys()].filter((k) => !current.has(k));
    const removed = [...current.keys()].filter((k) => !values.has(k));
    const changes = { changed, added, removed };
    if (changed.length + added.length + removed.length === 0) return { sealed: s, changes };
    const fresh = [...changed, ...added];
    const group = fresh.length === 0 ? undefined : await sealFresh(s, values, fresh, recipients, opts, what);
    const encryptedData = new Map<string, SealedValue>();
    for (const [k, v] of s.encryptedData) {
      if (!removed.includes(k)) encryptedData.set(k, group?.values.get(k) ?? v);
    }
    for (const k of added) encryptedData.set(k, group?.values.get(k) ?? fail(k));
    const used = new Set([...encryptedData.values()].map((v) => v.groupId));
    const dataKeys = [...s.dataKeys.filter((g) => used.has(g.id)), ...(group === undefined ? [] : [group.group])];
    return { sealed: { ...s, encryptedData, dataKeys }, changes };
  } finally {
    for (const v of current.values()) v.fill(0);
    if (opts.cache === undefined) cache.clear();
  }
}

/** Seals `keys` of `values` as one new group for exactly `recipients`. */
async function sealFresh(
  s: SealedSecret, values: ReadonlyMap<string, Uint8Array>, keys: readonly string[], recipients: readonly RecipientRef[], opts: SetValuesOptions, what: string,
): Promise<{ group: SealedSecret['dataKeys'][number]; values: ReadonlyMap<string, SealedValue> }> {
  if (recipients.length === 0) {
    throw new SealboxError('INPUT', `${what} has no data-key group, so no recipients to seal new values for; seal the secret again with "sealbox seal"`);
  }
  const wrappers = recipients.map((r) => {
    const w = opts.wrappers.find((x) => x.recipient.type === r.type && x.recipient.id === r.id);
    if (w === undefined) {
      throw new SealboxError('INPUT', `${what}: changed values are sealed under a new data key for every recipient, and ${describeRecipient(r)} is not known here`, { hint: { kind: 'recipient-certificate-missing', removable: false } });
    }
    return w;
  });
  const binding = bindingOf(s);
  const plain = new Map(keys.map((k) => [k, values.get(k) ?? fail(k)]));
  const sealed = await sealGroup(plain, binding, wrappers, opts.random ?? secureRandom);
  const got = new Set(sealed.group.recipients.map(refKey));
  if (got.size !== recipients.length || recipients.some((r) => !got.has(refKey(r)))) {
    throw new SealboxError('INPUT', `${what}: a key wrapped the new data key under another id than the file names (${sealed.group.recipients.map(describeRecipient).join(', ')}); run "sealbox rotate" first`);
  }
  return { group: { ...sealed.group, binding: bindingText(binding) }, values: sealed.values };
}

function fail(what: string): never {
  throw new SealboxError('INTERNAL', `value or group ${what} went missing while editing`);
}
