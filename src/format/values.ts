/**
 * Value edits with decrypt rights (`sealbox edit`): only values that changed
 * are sealed again, under the data key of the resource's newest group, so
 * every recipient keeps access without anyone wrapping a new data key (no
 * public key or KMS encrypt right needed) and unchanged values keep their
 * exact ciphertext. With encrypt rights only, use mergeIntoSealed instead.
 * Reusing a data key for a few more values is safe: each value has its own
 * random 96-bit nonce, and the key stays bound to the same location.
 */
import { encryptValue, secureRandom } from '../crypto/aead.js';
import type { RandomSource } from '../crypto/aead.js';
import { valueAad } from '../crypto/binding.js';
import { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper } from '../crypto/types.js';
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

/**
 * Returns the resource with its values set to `values`: changed and added
 * values sealed under the newest group's data key, removed ones dropped,
 * groups left without values dropped, everything else byte-identical (the
 * same object when nothing changed), and what changed. Throws SealboxError:
 * what unsealing throws; INPUT when values are added to a resource that has
 * no data-key group (seal it again instead).
 */
export async function setSealedValues(
  s: SealedSecret,
  values: ReadonlyMap<string, Uint8Array>,
  unwrappers: readonly KeyUnwrapper[],
  what: string,
  opts: { readonly random?: RandomSource; readonly cache?: DataKeyCache } = {},
): Promise<{ sealed: SealedSecret; changes: ValueChanges }> {
  const random = opts.random ?? secureRandom;
  // A shared cache (the caller unsealed before) saves a second unwrap per group.
  const cache = opts.cache ?? new DataKeyCache(s.dataKeys.length + 1);
  const current = (await unsealSealedSecret(s, unwrappers, what, cache)).data;
  try {
    const changed = [...values.keys()].filter((k) => current.has(k) && !equal(current.get(k) ?? new Uint8Array(), values.get(k) ?? new Uint8Array()));
    const added = [...values.keys()].filter((k) => !current.has(k));
    const removed = [...current.keys()].filter((k) => !values.has(k));
    const changes = { changed, added, removed };
    if (changed.length + added.length + removed.length === 0) return { sealed: s, changes };
    const encryptedData = new Map<string, SealedValue>();
    const fresh = [...changed, ...added];
    const sealedFresh = fresh.length === 0 ? new Map<string, SealedValue>() : sealUnderNewest(s, values, fresh, cache, what, random);
    for (const [k, v] of s.encryptedData) {
      if (removed.includes(k)) continue;
      encryptedData.set(k, sealedFresh.get(k) ?? v);
    }
    for (const k of added) encryptedData.set(k, sealedFresh.get(k) ?? fail(k));
    const used = new Set([...encryptedData.values()].map((v) => v.groupId));
    return { sealed: { ...s, encryptedData, dataKeys: s.dataKeys.filter((g) => used.has(g.id)) }, changes };
  } finally {
    for (const v of current.values()) v.fill(0);
    if (opts.cache === undefined) cache.clear();
  }
}

function sealUnderNewest(
  s: SealedSecret, values: ReadonlyMap<string, Uint8Array>, keys: readonly string[], cache: DataKeyCache, what: string, random: RandomSource,
): Map<string, SealedValue> {
  // The newest group that unsealing opened (only groups holding values are unwrapped).
  const binding = bindingOf(s);
  let group: SealedSecret['dataKeys'][number] | undefined;
  let dataKey: Uint8Array | undefined;
  for (const g of [...s.dataKeys].reverse()) {
    dataKey = cache.get(DataKeyCache.keyOf(binding, g));
    if (dataKey !== undefined) {
      group = g;
      break;
    }
  }
  if (group === undefined || dataKey === undefined) {
    throw new SealboxError('INPUT', `${what} has no data-key group to seal new values under; seal the secret again with "sealbox seal"`);
  }
  try {
    const out = new Map<string, SealedValue>();
    for (const k of keys) {
      const plaintext = values.get(k) ?? fail(k);
      out.set(k, { groupId: group.id, sealed: encryptValue(dataKey, k, plaintext, valueAad(binding, group.id, k), random) });
    }
    return out;
  } finally {
    dataKey.fill(0);
  }
}

function fail(what: string): never {
  throw new SealboxError('INTERNAL', `value or group ${what} went missing while editing`);
}
