/**
 * Compaction: every value of a sealed resource sealed again under one fresh
 * data key, so that `--merge-into` history (one group per merge) stops
 * costing a key operation per group at every unseal. The controller does it
 * (`POST /v1/compact`, src/controller/compact.ts) for users without decrypt
 * rights; `sealbox reseal --compact` checks its answer here.
 *
 * Pure apart from the injected wrapper and unwrappers.
 */
import { secureRandom } from '../crypto/aead.js';
import type { RandomSource } from '../crypto/aead.js';
import { bindingText } from '../crypto/binding.js';
import type { DataKeyCache } from '../crypto/key-cache.js';
import { describeRecipient, sealGroup } from '../crypto/group.js';
import type { KeyUnwrapper, KeyWrapper, RecipientRef } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import { checkOuter, refuse } from './rewrap-check.js';
import { bindingOf, checkBinding, unsealSealedSecret } from './seal.js';
import type { SealedSecret } from './sealed.js';

/** How to compact. */
export interface CompactOptions {
  /** The one recipient of the new group (the controller's newest key). */
  readonly wrapper: KeyWrapper;
  /**
   * True for a stanza the new recipient stands in for (the controller's own
   * cluster keys). Any other recipient would lose access: compaction refuses.
   */
  readonly replaces: (stanza: RecipientRef) => boolean;
  readonly cache?: DataKeyCache;
  readonly random?: RandomSource;
}

/**
 * Returns `s` with every value sealed again under one fresh data key for
 * `opts.wrapper`, bound exactly as before (same scope, namespace and name:
 * the binding comes from the resource, whose groups must all be bound to
 * it). Opens every value first, so a resource with a group or value the
 * unwrappers cannot open is refused whole. The plaintext never leaves here.
 * Throws SealboxError, before any key operation: NO_KEY for a group with
 * no recipient `replaces` covers, INPUT for a group with a recipient it
 * does not cover (who would lose access); then what unsealing throws
 * (SCOPE, NO_KEY, TAMPERED, PROVIDER).
 */
export async function compactSealed(s: SealedSecret, unwrappers: readonly KeyUnwrapper[], opts: CompactOptions, what: string): Promise<SealedSecret> {
  checkBinding(s, what);
  const self = opts.wrapper.recipient;
  const covered = (r: RecipientRef): boolean => opts.replaces(r) || (r.type === self.type && r.id === self.id);
  for (const g of s.dataKeys) {
    if (!g.recipients.some(covered)) {
      throw new SealboxError('NO_KEY', `${what}: data-key group ${g.id} is sealed only for ${g.recipients.map(describeRecipient).join(', ')}, none of them a key of this controller, so it cannot open it; nothing compacted`);
    }
    const other = g.recipients.find((r) => !covered(r));
    if (other !== undefined) {
      throw new SealboxError('INPUT', `${what}: data-key group ${g.id} is also sealed for ${describeRecipient(other)}, which the controller cannot wrap a new data key for, so compacting would lock that recipient out; nothing compacted`, { hint: { kind: 'compact-by-key-holder' } });
    }
  }
  if (s.encryptedData.size === 0) return s;
  const secret = await unsealSealedSecret(s, unwrappers, what, opts.cache);
  try {
    const binding = bindingOf(s);
    const sealed = await sealGroup(secret.data, binding, [opts.wrapper], opts.random ?? secureRandom);
    return { ...s, encryptedData: sealed.values, dataKeys: [{ ...sealed.group, binding: bindingText(binding) }] };
  } finally {
    for (const v of secret.data.values()) v.fill(0);
  }
}

/**
 * Throws SealboxError('TAMPERED') unless `after`, a controller's answer to a
 * compaction of `before`, is one: the same name, namespace, labels,
 * annotations, scope and template; the same value names, every value in one
 * new data-key group bound exactly as `before` is, wrapped for one cluster
 * key. The plaintexts cannot be checked without decrypt rights: that part
 * is the controller's word.
 */
export function checkCompactAnswer(before: SealedSecret, after: SealedSecret, what: string): void {
  checkOuter(before, after, what, 'a compaction');
  const names = (x: SealedSecret): string => [...x.encryptedData.keys()].sort().join('\0');
  if (names(before) !== names(after)) throw refuse(what, 'the set of values', 'a compaction');
  const [group, ...more] = after.dataKeys;
  if (group === undefined || more.length > 0) throw notCompacted(what, `it has ${String(after.dataKeys.length)} data-key groups, not one`);
  if (before.dataKeys.some((g) => g.id === group.id)) throw notCompacted(what, `its group ${group.id} is not a new one`);
  if (group.binding !== bindingText(bindingOf(before))) throw notCompacted(what, 'its group is bound to another place than the resource');
  if ([...after.encryptedData.values()].some((v) => v.groupId !== group.id)) throw notCompacted(what, 'some values are outside its group');
  if (group.recipients.length !== 1 || group.recipients[0]?.type !== 'cert') throw notCompacted(what, 'its group is not wrapped for exactly one cluster key');
}

function notCompacted(what: string, why: string): SealboxError {
  return new SealboxError('TAMPERED', `${what}: the controller's answer is not a compaction of it: ${why}; nothing written`, { hint: { kind: 'controller-check' } });
}
