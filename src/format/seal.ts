import { secureRandom } from '../crypto/aead.js';
import type { RandomSource } from '../crypto/aead.js';
import { bindingText } from '../crypto/binding.js';
import { DataKeyCache } from '../crypto/key-cache.js';
import { openValue, sealGroup, unwrapGroup } from '../crypto/group.js';
import type { Binding, KeyUnwrapper, KeyWrapper, Scope } from '../crypto/types.js';
import type { SealedValue } from '../crypto/value.js';
import type { ErrorHint } from '../errors.js';
import { SealboxError, quote } from '../errors.js';
import type { SealedGroup, SealedSecret } from './sealed.js';
import type { SecretData } from './secret.js';
import { checkSecretSize } from './secret.js';
import { MANAGED_LABEL, checkTemplate } from './template.js';
import { turnEvery } from '../crypto/yield.js';

/** How to seal: the scope and the recipients. */
export interface SealOptions {
  readonly scope: Scope;
  readonly wrappers: readonly KeyWrapper[];
  readonly random?: RandomSource;
}

/** Returns the binding of a sealed resource at the place its document says it lives. */
export function bindingOf(s: Pick<SealedSecret, 'scope' | 'namespace' | 'name'>): Binding {
  return { scope: s.scope, namespace: s.namespace, name: s.name };
}

/**
 * Seals a Secret: all its values under one fresh data key, wrapped once per
 * recipient. Returns the sealed resource. Throws SealboxError('INPUT') when
 * the scope needs a namespace the Secret lacks; wrapper errors propagate.
 */
export async function sealSecret(secret: SecretData, opts: SealOptions): Promise<SealedSecret> {
  const binding: Binding = { scope: opts.scope, namespace: secret.namespace, name: secret.name };
  const text = bindingText(binding);
  checkSecretSize(secret.data, `secret "${secret.name}"`);
  // The controller sets its own label; one read back from the cluster is dropped, not refused.
  const { [MANAGED_LABEL]: _managed, ...labels } = secret.labels;
  const template = {
    type: secret.type,
    ...(secret.immutable === undefined ? {} : { immutable: secret.immutable }),
    labels,
    annotations: secret.annotations,
  };
  checkTemplate(template, `secret "${secret.name}"`, 'template');
  const dataKeys: SealedGroup[] = [];
  let encryptedData: ReadonlyMap<string, SealedValue> = new Map();
  if (secret.data.size > 0) {
    const sealed = await sealGroup(secret.data, binding, opts.wrappers, opts.random ?? secureRandom);
    dataKeys.push({ ...sealed.group, binding: text });
    encryptedData = sealed.values;
  }
  return {
    name: secret.name,
    namespace: secret.namespace,
    labels: {},
    annotations: {},
    scope: opts.scope,
    template,
    encryptedData,
    dataKeys,
  };
}

/**
 * Checks that every data-key group was sealed for the place the resource is
 * now. Throws SealboxError('SCOPE') saying what moved and what to do.
 */
export function checkBinding(s: SealedSecret, what: string): void {
  const expected = bindingText(bindingOf(s));
  for (const g of s.dataKeys) {
    if (g.binding === expected) continue;
    const move = explainMove(g.binding, expected);
    throw new SealboxError('SCOPE', `${what}: data-key group ${g.id} ${move.text}`, move.hint === undefined ? undefined : { hint: move.hint });
  }
}

function explainMove(recorded: string, expected: string): { text: string; hint?: ErrorHint } {
  const [rScope = '', rNs = '', rName = ''] = recorded.split('/');
  const [eScope = '', eNs = '', eName = ''] = expected.split('/');
  if (rScope !== eScope) {
    return { text: `was sealed with scope ${quote(rScope)} but the resource says "${eScope}"; a scope cannot be changed after sealing`, hint: { kind: 'reseal-with-scope', scope: eScope } };
  }
  if (rNs !== eNs) {
    return { text: `is bound to namespace ${quote(rNs)} but was found in "${eNs}"; seal it again for "${eNs}"` };
  }
  if (rName !== eName) {
    return { text: `is bound to secret name ${quote(rName, 253)} but the resource is named "${eName}"`, hint: { kind: 'reseal-for-name', name: eName } };
  }
  return { text: `records binding ${quote(recorded, 128)}, which is not a valid binding for ${quote(expected, 330)}; seal it again` };
}

/**
 * Unseals a sealed resource: one unwrap per data-key group, one AES-GCM
 * decryption per value. Returns the Secret. Throws SealboxError: SCOPE for a
 * resource, group or value used outside its binding; NO_KEY, TAMPERED or
 * PROVIDER from unwrapping; TAMPERED for a value that does not authenticate.
 * With a cache, a group unwrapped before costs no private-key operation.
 */
export async function unsealSealedSecret(
  s: SealedSecret,
  unwrappers: readonly KeyUnwrapper[],
  what: string,
  cache?: DataKeyCache,
): Promise<SecretData> {
  checkBinding(s, what);
  const binding = bindingOf(s);
  const keys = new Map<string, Uint8Array>();
  const data = new Map<string, Uint8Array>();
  const used = new Set([...s.encryptedData.values()].map((v) => v.groupId));
  const names = [...s.encryptedData.keys()];
  try {
    for (const g of s.dataKeys) {
      if (used.has(g.id)) keys.set(g.id, await unwrapCached(g, binding, unwrappers, what, cache));
    }
    for (const [key, value] of s.encryptedData) {
      await turnEvery(data.size);
      const dataKey = keys.get(value.groupId);
      if (dataKey === undefined) throw new SealboxError('INTERNAL', `${what}: group ${value.groupId} was not unwrapped`);
      const opened = openValue(dataKey, binding, key, value, names);
      if (opened === 'tampered') {
        throw new SealboxError('TAMPERED', `${what}: value "${key}" does not authenticate: its ciphertext was altered or corrupted (or it was renamed from a key this resource no longer has); restore it from Git history or seal it again`);
      }
      if (!(opened instanceof Uint8Array)) {
        throw new SealboxError('SCOPE', `${what}: value "${key}" was sealed under another key name ("${opened.movedFrom}"); values cannot be renamed or moved between keys: seal it again as "${key}"`);
      }
      data.set(key, opened);
    }
  } finally {
    for (const k of keys.values()) k.fill(0);
  }
  return {
    name: s.name,
    namespace: s.namespace,
    type: s.template.type,
    ...(s.template.immutable === undefined ? {} : { immutable: s.template.immutable }),
    labels: s.template.labels,
    annotations: s.template.annotations,
    data,
  };
}

/**
 * Unwraps a group's data key, through `cache` when given (a group unwrapped
 * before costs no key operation). Returns a key the caller may zero; throws
 * what unwrapGroup throws.
 */
export async function unwrapCached(g: SealedGroup, binding: Binding, unwrappers: readonly KeyUnwrapper[], what: string, cache?: DataKeyCache): Promise<Uint8Array> {
  if (cache === undefined) return unwrapGroup(g, binding, unwrappers, what);
  const key = DataKeyCache.keyOf(binding, g);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const dataKey = await unwrapGroup(g, binding, unwrappers, what);
  cache.set(key, dataKey);
  return dataKey;
}

/**
 * Adds or replaces `values` without decrypt rights: they are sealed under a
 * new data-key group; every other value keeps its exact ciphertext. Groups
 * left without values are dropped. Returns the updated resource.
 */
export async function mergeIntoSealed(s: SealedSecret, values: ReadonlyMap<string, Uint8Array>, opts: Omit<SealOptions, 'scope'>): Promise<SealedSecret> {
  if (values.size === 0) return s;
  checkBinding(s, `sealed secret "${s.name}"`);
  const binding = bindingOf(s);
  const sealed = await sealGroup(values, binding, opts.wrappers, opts.random ?? secureRandom);
  const encryptedData = new Map(s.encryptedData);
  for (const [k, v] of sealed.values) encryptedData.set(k, v);
  const used = new Set([...encryptedData.values()].map((v) => v.groupId));
  const dataKeys = [...s.dataKeys.filter((g) => used.has(g.id)), { ...sealed.group, binding: bindingText(binding) }];
  return { ...s, encryptedData, dataKeys };
}
