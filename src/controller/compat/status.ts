/**
 * The status the compatibility mode writes on a Sealed Secrets SealedSecret,
 * as Sealed Secrets does (`updateSealedSecretsStatusConditions`): one
 * `Synced` condition (True, or False with the error as message), its
 * lastUpdateTime and lastTransitionTime, and `observedGeneration`; written
 * only when the condition's status or message or the generation changed.
 */
import { truncate } from '../../errors.js';
import type { SealedSecretObject } from '../../kube/types.js';
import { MESSAGE_CHARS } from '../status.js';

/** Sealed Secrets' condition. */
export interface SyncedCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly message?: string;
  readonly lastUpdateTime: string;
  readonly lastTransitionTime: string;
}

/** Sealed Secrets' status. */
export interface CompatStatus {
  readonly observedGeneration: number;
  readonly conditions: readonly SyncedCondition[];
}

/**
 * Returns the status to write after a reconcile (`error` undefined when it
 * succeeded), or undefined when the object's status says the same already.
 */
export function nextCompatStatus(obj: SealedSecretObject, error: string | undefined, now: Date): CompatStatus | undefined {
  const generation = obj.metadata?.generation ?? 0;
  const current = (obj.status ?? {}) as Partial<CompatStatus>;
  const conditions: readonly SyncedCondition[] = Array.isArray(current.conditions) ? current.conditions : [];
  const old = conditions.find((c) => c.type === 'Synced');
  const status = error === undefined ? 'True' : 'False';
  const message = error === undefined ? '' : truncate(error, MESSAGE_CHARS);
  if (current.observedGeneration === generation && old?.status === status && (old.message ?? '') === message) return undefined;
  const at = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const synced: SyncedCondition = {
    type: 'Synced', status, ...(message === '' ? {} : { message }),
    lastUpdateTime: at, lastTransitionTime: old?.status === status ? old.lastTransitionTime : at,
  };
  return { observedGeneration: generation, conditions: [...conditions.filter((c) => c.type !== 'Synced'), synced] };
}
