/**
 * The status the controller writes on a sealed resource: the Ready
 * condition, the generation it describes, and which keys unsealed it.
 */
import { describeRecipient } from '../crypto/group.js';
import { truncate } from '../errors.js';
import type { SealedSecret } from '../format/sealed.js';
import type { SealedSecretObject } from '../kube/types.js';

/** Longest message written to status, events and logs. */
export const MESSAGE_CHARS = 1024;

/** The Ready condition of a sealed resource. */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration: number;
}

/** The status subresource of a sealed resource, as the controller writes it. */
export interface Status {
  readonly observedGeneration: number;
  readonly conditions: readonly Condition[];
  readonly keyIds: readonly string[];
  readonly secretName: string;
}

/** The outcome of a reconcile, as status reports it. */
export interface StatusResult {
  readonly ok: boolean;
  readonly reason: string;
  readonly message: string;
}

/** The ids of the keys that unseal `s` here: one of our cluster keys per group, else its first KMS recipient. */
export function usedKeys(s: SealedSecret, ours: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const g of s.dataKeys) {
    const mine = g.recipients.find((r) => r.type === 'cert' && ours.has(r.id)) ?? g.recipients.find((r) => r.type !== 'cert');
    if (mine !== undefined) out.add(describeRecipient(mine));
  }
  return [...out].sort();
}

/**
 * Returns the status to write for `result`, or undefined when `current`
 * says the same already (so a resync of a synced resource writes nothing).
 * The Ready condition keeps its lastTransitionTime while its status holds.
 */
export function nextStatus(obj: SealedSecretObject, current: Partial<Status>, result: StatusResult, keyIds: readonly string[], now: Date): Status | undefined {
  const meta = obj.metadata ?? {};
  const generation = meta.generation ?? 0;
  const ready = current.conditions?.find((c) => c.type === 'Ready');
  const status: Condition['status'] = result.ok ? 'True' : 'False';
  const message = truncate(result.message, MESSAGE_CHARS);
  if (
    current.observedGeneration === generation &&
    ready?.status === status &&
    ready.reason === result.reason &&
    ready.message === message &&
    JSON.stringify(current.keyIds ?? []) === JSON.stringify(keyIds)
  ) {
    return undefined;
  }
  const changedAt = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    observedGeneration: generation,
    conditions: [{ type: 'Ready', status, reason: result.reason, message, lastTransitionTime: ready?.status === status ? ready.lastTransitionTime : changedAt, observedGeneration: generation }],
    keyIds: [...keyIds],
    secretName: meta.name ?? '',
  };
}
