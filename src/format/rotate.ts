/**
 * Rotation of a sealed resource's recipients: every data-key group gets a
 * stanza for each target recipient, loses the stanzas being removed or
 * superseded (an older version of a target Key Vault key), and keeps every
 * other stanza and every value byte-identical. Or, with `newDataKey`, every
 * value is sealed again under one fresh data key (when a key may have leaked).
 *
 * Pure apart from the injected wrappers and unwrappers: no SDK, no file system.
 */
import { secureRandom } from '../crypto/aead.js';
import type { RandomSource } from '../crypto/aead.js';
import { bindingText } from '../crypto/binding.js';
import { describeRecipient, sealGroup, wrapDataKey } from '../crypto/group.js';
import type { DataKeyCache } from '../crypto/key-cache.js';
import type { Binding, KeyUnwrapper, KeyWrapper, RecipientRef, WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import { bindingOf, checkBinding, unsealSealedSecret, unwrapCached } from './seal.js';
import type { SealedGroup, SealedSecret } from './sealed.js';

/** A recipient every group must have after the rotation. */
export interface RotationTarget {
  /** The recipient as stanzas name it: key ARN, Key Vault key id with version, certificate fingerprint. */
  readonly ref: RecipientRef;
  /** Wraps for `ref` (its stanzas must carry `ref.id`). */
  readonly wrapper: KeyWrapper;
  /** True for a stanza this target replaces, e.g. another version of the same Key Vault key. */
  readonly supersedes?: (stanza: RecipientRef) => boolean;
}

/** How to rotate. */
export interface RotateOptions {
  readonly targets: readonly RotationTarget[];
  /** Stanzas to remove (keys being retired). */
  readonly remove?: (stanza: RecipientRef) => boolean;
  /** Seal every value again under one fresh data key instead of re-wrapping. */
  readonly newDataKey?: boolean;
  /**
   * Re-wraps `stanza` for `target` without the data key leaving the key
   * service (AWS ReEncrypt). Resolves null when it cannot for this pair.
   */
  readonly rewrap?: (stanza: WrappedKey, binding: Binding, target: RotationTarget) => Promise<WrappedKey | null>;
  /**
   * The wrapper of a recipient that stays, needed with `newDataKey` only:
   * resolves undefined when it is not known (a certificate not given).
   */
  readonly wrapperOf?: (stanza: RecipientRef) => Promise<KeyWrapper | undefined>;
  /** Data keys unwrapped before (e.g. while checking every value opens). */
  readonly cache?: DataKeyCache;
  readonly random?: RandomSource;
}

/** What a rotation did (or would do) to one data-key group. */
export interface GroupRotation {
  readonly group: string;
  /** Recipients added, as `describeRecipient` shows them. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** The result of rotating one sealed resource. */
export interface RotationResult {
  readonly sealed: SealedSecret;
  /** Groups that changed; empty when nothing did. */
  readonly groups: readonly GroupRotation[];
  /** With newDataKey: the new group's id and the groups it replaced. */
  readonly newDataKey?: { readonly group: string; readonly replaced: readonly string[] };
}

const same = (a: RecipientRef, b: RecipientRef): boolean => a.type === b.type && a.id === b.id;

function dropped(r: RecipientRef, opts: RotateOptions): boolean {
  if (opts.targets.some((t) => same(t.ref, r))) return false;
  return (opts.remove?.(r) ?? false) || opts.targets.some((t) => t.supersedes?.(r) ?? false);
}

/**
 * Returns the group changes a re-wrap would make, without any call: a group
 * changes when it lacks a target or has a stanza to remove or supersede.
 * Throws SealboxError('INPUT') when a group would be left without recipients.
 */
export function planRotation(s: SealedSecret, opts: RotateOptions, what: string): GroupRotation[] {
  const out: GroupRotation[] = [];
  for (const g of s.dataKeys) {
    const removed = g.recipients.filter((r) => dropped(r, opts));
    const missing = opts.targets.filter((t) => !g.recipients.some((r) => same(r, t.ref)));
    if (removed.length === 0 && missing.length === 0) continue;
    if (removed.length === g.recipients.length && missing.length === 0) {
      throw new SealboxError('INPUT', `${what}: removing ${removed.map(describeRecipient).join(', ')} would leave data-key group ${g.id} without recipients; add another recipient first`);
    }
    out.push({ group: g.id, added: missing.map((t) => describeRecipient(t.ref)), removed: removed.map(describeRecipient) });
  }
  return out;
}

/**
 * True when rotating would change the resource (always, with newDataKey,
 * when it has values). Throws what planRotation throws.
 */
export function needsRotation(s: SealedSecret, opts: RotateOptions, what: string): boolean {
  if (opts.newDataKey === true) return s.encryptedData.size > 0;
  return planRotation(s, opts, what).length > 0;
}

/**
 * Rotates one sealed resource. Groups that need no change are not unwrapped;
 * a group whose missing stanzas can all be re-wrapped by the key service
 * (`rewrap`) is not unwrapped either. Returns the new resource and what
 * changed. Throws SealboxError: INPUT for a rotation that would leave a group
 * without recipients or (newDataKey) a recipient whose wrapper is unknown;
 * what unsealing and wrapping throw (SCOPE, NO_KEY, TAMPERED, PROVIDER).
 */
export async function rotateSealed(s: SealedSecret, unwrappers: readonly KeyUnwrapper[], opts: RotateOptions, what: string): Promise<RotationResult> {
  checkBinding(s, what);
  if (opts.newDataKey === true) return resealUnderNewKey(s, unwrappers, opts, what);
  const plan = planRotation(s, opts, what);
  if (plan.length === 0) return { sealed: s, groups: [] };
  const binding = bindingOf(s);
  const changing = new Set(plan.map((p) => p.group));
  const dataKeys: SealedGroup[] = [];
  for (const g of s.dataKeys) {
    dataKeys.push(changing.has(g.id) ? await rewrapGroup(g, binding, unwrappers, opts, what) : g);
  }
  return { sealed: { ...s, dataKeys }, groups: plan };
}

/** Options of rewrapSealed. */
export interface RewrapOptions {
  /** Recipients every group must have afterwards. */
  readonly wrappers: readonly KeyWrapper[];
  /** Stanzas to remove (old keys being retired); a stanza of one of `wrappers` is never removed. */
  readonly drop?: (stanza: RecipientRef) => boolean;
  readonly cache?: DataKeyCache;
}

/**
 * Re-wraps data keys for a new recipient set without touching any value: a
 * rotation (rotateSealed) to `wrappers` that removes the stanzas `drop`
 * names. A stanza already present is kept byte-identical, so a second run
 * changes nothing; groups that need no new stanza are not unwrapped.
 * Returns the updated resource; throws what rotateSealed throws.
 */
export async function rewrapSealed(s: SealedSecret, unwrappers: readonly KeyUnwrapper[], opts: RewrapOptions, what: string): Promise<SealedSecret> {
  const targets = opts.wrappers.map((w) => ({ ref: w.recipient, wrapper: w }));
  return (await rotateSealed(s, unwrappers, { targets, remove: opts.drop, cache: opts.cache }, what)).sealed;
}

async function rewrapGroup(g: SealedGroup, binding: Binding, unwrappers: readonly KeyUnwrapper[], opts: RotateOptions, what: string): Promise<SealedGroup> {
  const kept = g.recipients.filter((r) => !dropped(r, opts));
  let missing = opts.targets.filter((t) => !kept.some((r) => same(r, t.ref)));
  const added: WrappedKey[] = [];
  if (opts.rewrap !== undefined) {
    for (const t of missing) {
      const via = await firstRewrap(g, binding, t, opts.rewrap);
      if (via !== null) added.push(via);
    }
    missing = missing.filter((t) => !added.some((a) => same(a, t.ref)));
  }
  if (missing.length > 0) {
    const dataKey = await unwrapCached(g, binding, unwrappers, what, opts.cache);
    try {
      added.push(...(await wrapDataKey(dataKey, binding, missing.map((t) => t.wrapper))));
    } finally {
      dataKey.fill(0);
    }
  }
  const recipients = [...kept];
  for (const a of added) if (!recipients.some((r) => same(r, a))) recipients.push(a);
  return { ...g, recipients };
}

/** Re-wraps from the first stanza the key service can re-wrap for `t`; null when none can. */
async function firstRewrap(g: SealedGroup, binding: Binding, t: RotationTarget, rewrap: NonNullable<RotateOptions['rewrap']>): Promise<WrappedKey | null> {
  for (const stanza of g.recipients) {
    const out = await rewrap(stanza, binding, t);
    if (out !== null) return out;
  }
  return null;
}

async function resealUnderNewKey(s: SealedSecret, unwrappers: readonly KeyUnwrapper[], opts: RotateOptions, what: string): Promise<RotationResult> {
  if (s.encryptedData.size === 0) return { sealed: s, groups: [] };
  const secret = await unsealSealedSecret(s, unwrappers, what);
  const binding = bindingOf(s);
  const wrappers: KeyWrapper[] = opts.targets.map((t) => t.wrapper);
  const refs: RecipientRef[] = opts.targets.map((t) => t.ref);
  for (const g of s.dataKeys) {
    for (const r of g.recipients) {
      if (dropped(r, opts) || refs.some((x) => same(x, r))) continue;
      const w = await opts.wrapperOf?.(r);
      if (w === undefined) {
        throw new SealboxError('INPUT', `${what}: a new data key must be wrapped for every recipient, and ${describeRecipient(r)} is not known here`, { hint: { kind: 'recipient-certificate-missing', removable: true } });
      }
      wrappers.push(w);
      refs.push(r);
    }
  }
  if (wrappers.length === 0) throw new SealboxError('INPUT', `${what}: no recipients left for the new data key`);
  const random = opts.random ?? secureRandom;
  const sealed = await sealGroup(secret.data, binding, wrappers, random);
  for (const v of secret.data.values()) v.fill(0);
  const replaced = s.dataKeys.map((g) => g.id);
  return {
    sealed: { ...s, encryptedData: sealed.values, dataKeys: [{ ...sealed.group, binding: bindingText(binding) }] },
    groups: [{ group: sealed.group.id, added: sealed.group.recipients.map(describeRecipient), removed: [] }],
    newDataKey: { group: sealed.group.id, replaced },
  };
}
