import { timingSafeEqual } from 'node:crypto';
import { SealboxError, isSealboxError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { DATA_KEY_BYTES, KEY_CHECK_BYTES, decryptValue, encryptValue, generateDataKey, groupIdOf, isCommittedKey, keyCheckOf, keyCommitmentOf, secureRandom } from './aead.js';
import type { RandomSource } from './aead.js';
import { valueAad } from './binding.js';
import type { Binding, KeyUnwrapper, KeyWrapper, RecipientRef, WrappedKey } from './types.js';
import type { SealedValue } from './value.js';
import { turnEvery } from './yield.js';

/** One data key, named by its group id, committed to, wrapped once per recipient. */
export interface DataKeyGroup {
  readonly id: string;
  /** keyCommitmentOf(dataKey): the 256-bit commitment checked after every unwrap. */
  readonly commitment: string;
  readonly recipients: readonly WrappedKey[];
}

/** Values sealed together under one new data key. */
export interface SealedGroupResult {
  readonly group: DataKeyGroup;
  readonly values: ReadonlyMap<string, SealedValue>;
}

/** Short form of a recipient for messages: `cert:1a2b3c4d5e6f`, `aws-kms:arn:…`. */
export function describeRecipient(r: RecipientRef): string {
  return r.type === 'cert' ? `cert:${r.id.slice(0, 12)}` : `${r.type}:${r.id}`;
}

/**
 * Wraps `dataKey` for every wrapper, dropping duplicate recipients. Returns the
 * stanzas in wrapper order. Throws SealboxError('INPUT') when there is no
 * wrapper; wrapper errors propagate.
 */
export async function wrapDataKey(
  dataKey: Uint8Array,
  binding: Binding,
  wrappers: readonly KeyWrapper[],
): Promise<WrappedKey[]> {
  if (wrappers.length === 0) {
    throw new SealboxError('INPUT', 'no recipients', { hint: { kind: 'recipients-missing' } });
  }
  return firstPerRecipient(await Promise.all(wrappers.map((w) => w.wrap(dataKey, binding))));
}

/**
 * Seals `values` under one fresh data key: one AES-256-GCM encryption per
 * value, one wrap per recipient. Throws what wrapDataKey throws.
 */
export async function sealGroup(
  values: ReadonlyMap<string, Uint8Array>,
  binding: Binding,
  wrappers: readonly KeyWrapper[],
  random: RandomSource = secureRandom,
): Promise<SealedGroupResult> {
  const dataKey = generateDataKey(random);
  try {
    const id = groupIdOf(dataKey);
    const commitment = keyCommitmentOf(dataKey);
    const recipients = await wrapDataKey(dataKey, binding, wrappers);
    const sealed = new Map<string, SealedValue>();
    for (const [key, plaintext] of values) {
      await turnEvery(sealed.size);
      sealed.set(key, { groupId: id, sealed: encryptValue(dataKey, key, plaintext, valueAad(binding, id, key), random) });
    }
    return { group: { id, commitment, recipients }, values: sealed };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Most KMS stanzas of one group that {@link unwrapGroup} calls a key service
 * for (cluster-key stanzas cost nothing remote and are not counted): a group
 * listing a hundred keys on a host that never answers would otherwise cost a
 * hundred timeouts.
 */
export const MAX_REMOTE_PER_GROUP = 4;

/**
 * Returns the data key of `group`, unwrapped by the first unwrapper that holds
 * one of its recipients; no trial decryption, each stanza names its key. Every
 * path (cluster key, AWS KMS, Azure Key Vault) passes here: a key that is not
 * 32 bytes, or not the one the group id and key commitment name, is refused as
 * TAMPERED before any value is opened with it.
 * Throws SealboxError: NO_KEY when no unwrapper is a recipient; otherwise the
 * most telling code among the failures (TAMPERED before PROVIDER), with each
 * recipient's reason kept in the message. `what` names the resource. At most
 * MAX_REMOTE_PER_GROUP KMS stanzas are tried.
 */
export async function unwrapGroup(
  group: DataKeyGroup,
  binding: Binding,
  unwrappers: readonly KeyUnwrapper[],
  what: string,
): Promise<Uint8Array> {
  const failures: { code: ErrorCode; reason: string }[] = [];
  const stanzas = firstPerRecipient(group.recipients);
  let remote = 0;
  for (const unwrapper of unwrappers) {
    for (const stanza of stanzas) {
      if (stanza.type !== 'cert' && remote >= MAX_REMOTE_PER_GROUP) continue;
      let dataKey: Uint8Array | null;
      try {
        dataKey = await unwrapper.unwrap(stanza, binding);
      } catch (err) {
        const code: ErrorCode = isSealboxError(err) ? err.code : 'PROVIDER';
        // A refusal before any call (NO_KEY: not allowed) costs nothing remote.
        if (stanza.type !== 'cert' && code !== 'NO_KEY') remote++;
        const reason = err instanceof Error ? err.message : 'unknown error';
        failures.push({ code, reason: `${describeRecipient(stanza)}: ${reason}` });
        continue;
      }
      if (dataKey === null) continue;
      if (stanza.type !== 'cert') remote++;
      const refused = refusalOf(dataKey, group);
      if (refused === undefined) return dataKey;
      dataKey.fill(0);
      failures.push({ code: 'TAMPERED', reason: `${describeRecipient(stanza)}: ${refused}` });
    }
  }
  if (failures.length > 0) {
    const code = (['TAMPERED', 'SCOPE', 'PROVIDER'] as const).find((c) => failures.some((f) => f.code === c)) ?? failures[0]?.code ?? 'INTERNAL';
    const reasons = failures.map((f) => f.reason).join('; ');
    throw new SealboxError(code, `${what}: cannot unwrap data-key group ${group.id}: ${reasons}`);
  }
  // An unwrapper of other stanza types (the CLI's KMS one for a group of cluster keys) is not one of "your keys" here.
  const have = unwrappers.filter((u) => u.types === undefined || stanzas.some((s) => u.types?.includes(s.type) === true)).map((u) => u.description).join(', ');
  const want = group.recipients.map(describeRecipient).join(', ');
  if (have === '') {
    throw new SealboxError('NO_KEY', `${what}: no key was given to unwrap data-key group ${group.id}, whose recipients are ${want}`, { hint: { kind: 'private-key-missing' } });
  }
  throw new SealboxError(
    'NO_KEY',
    `${what}: none of your keys (${have}) is a recipient of data-key group ${group.id}, whose recipients are ${want}; unseal with one of those keys, or have it resealed for yours`,
  );
}

/** Why an unwrapped data key is not the group's, or undefined when it is. Names lengths only, never key bytes. */
function refusalOf(dataKey: Uint8Array, group: DataKeyGroup): string | undefined {
  // Checked first: HMAC zero-pads short keys, so a commitment means nothing for another length.
  if (dataKey.length !== DATA_KEY_BYTES) {
    return `the unwrapped data key is ${dataKey.length} bytes, not ${DATA_KEY_BYTES} (the stanza was forged)`;
  }
  if (isCommittedKey(dataKey, group.id, group.commitment)) return undefined;
  return `the unwrapped data key is not the one group ${group.id} commits to (the stanza was replaced)`;
}

/**
 * The first stanza of each recipient: a group that names one key many times
 * costs one private-key operation or KMS call, not one per copy (a hostile
 * group could otherwise list the cluster key a hundred times).
 */
function firstPerRecipient(stanzas: readonly WrappedKey[]): WrappedKey[] {
  const seen = new Set<string>();
  return stanzas.filter((s) => {
    const k = `${s.type}\0${s.id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** What opening a value gives: its plaintext, proof it belongs to another key name, or `tampered`. */
export type OpenResult = Uint8Array | 'tampered' | { readonly movedFrom: string };

/**
 * Opens one sealed value. Returns the plaintext; `{ movedFrom }` when the
 * value authenticates under another of `keyNames` (it was moved or copied
 * from that key); `tampered` otherwise. A key check that differs is only a
 * hint: a value counts as moved only when its GCM tag verifies under the
 * other name, so a corrupted start of a value (the key check) is `tampered`.
 * A value renamed to a key the resource no longer has is `tampered` too:
 * the name it was sealed under is unknown.
 */
export function openValue(dataKey: Uint8Array, binding: Binding, key: string, value: SealedValue, keyNames: readonly string[] = []): OpenResult {
  const opened = decryptValue(dataKey, key, value.sealed, valueAad(binding, value.groupId, key));
  if (opened !== 'moved') return opened;
  const check = value.sealed.subarray(0, KEY_CHECK_BYTES);
  for (const other of keyNames) {
    if (other === key || !timingSafeEqual(check, keyCheckOf(dataKey, other))) continue;
    const there = decryptValue(dataKey, other, value.sealed, valueAad(binding, value.groupId, other));
    if (there instanceof Uint8Array) {
      there.fill(0);
      return { movedFrom: other };
    }
  }
  return 'tampered';
}
