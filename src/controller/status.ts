/**
 * The status the controller writes on a sealed resource: the generation it
 * describes, its conditions and which keys unsealed it. The conditions
 * follow kstatus (sigs.k8s.io/cli-utils), which Flux and kubectl-style
 * tools read: Ready=True when the Secret matches; on a failure Ready=False
 * and either Stalled=True (retrying alone cannot mend it: Flux fails fast)
 * or Reconciling=True (a transient failure being retried). docs/DEPLOY.md
 * "Status" documents the rules.
 */
import { describeRecipient } from '../crypto/group.js';
import { isSealboxError, truncate } from '../errors.js';
import type { SealedSecret } from '../format/sealed.js';
import { KubeError } from '../kube/errors.js';
import type { SealedSecretObject } from '../kube/types.js';

/** Longest message written to status, events and logs. */
export const MESSAGE_CHARS = 1024;

/** One condition of a sealed resource: Ready, Stalled or Reconciling. */
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
  /** A failure that retrying can mend (Reconciling=True); any other failure is Stalled=True. */
  readonly transient?: boolean;
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

/** HTTP statuses of a request the API server refused as such: sending it again gets the same answer. */
const REFUSED_REQUEST = new Set([400, 403, 405, 413, 415, 422]);

/**
 * True when a reconcile that failed with `err` (condition reason `reason`)
 * may succeed by retrying alone: the API server or a KMS unreachable or
 * failing, the controller not holding its keys yet, a write fight it holds
 * off from (Conflict), a bug. False for what a person must fix: a tampered
 * or wrongly scoped value, no key that can open it, an unowned Secret in the
 * way, an invalid resource or template, a request the API server refuses.
 */
export function isTransientFailure(err: unknown, reason: string): boolean {
  if (!isSealboxError(err)) return true;
  switch (err.code) {
    case 'INPUT':
    case 'SCOPE':
    case 'TAMPERED':
      return false;
    case 'NO_KEY':
      return err.hint?.kind === 'private-key-missing';
    case 'REFUSED':
      return reason !== 'SecretNotOwned';
    case 'KUBE':
      return !(err instanceof KubeError && REFUSED_REQUEST.has(err.status));
    default:
      return true;
  }
}

/** The conditions that say `result`: Ready first, then Stalled or Reconciling on a failure. */
function conditionsOf(result: StatusResult, message: string): Pick<Condition, 'type' | 'status' | 'reason' | 'message'>[] {
  const ready = { type: 'Ready', status: result.ok ? 'True' : 'False', reason: result.reason, message } as const;
  if (result.ok) return [ready];
  return [ready, { type: result.transient === true ? 'Reconciling' : 'Stalled', status: 'True', reason: result.reason, message }];
}

const sameConditions = (a: readonly Pick<Condition, 'type' | 'status' | 'reason' | 'message'>[], b: readonly Condition[] | undefined): boolean =>
  b !== undefined && a.length === b.length && a.every((c, i) => c.type === b[i]?.type && c.status === b[i].status && c.reason === b[i].reason && c.message === b[i].message);

/**
 * Returns the status to write for `result`, or undefined when `current`
 * says the same already (so a resync of a synced resource writes nothing).
 * A condition keeps its lastTransitionTime while its status holds.
 */
export function nextStatus(obj: SealedSecretObject, current: Partial<Status>, result: StatusResult, keyIds: readonly string[], now: Date): Status | undefined {
  const meta = obj.metadata ?? {};
  const generation = meta.generation ?? 0;
  const wanted = conditionsOf(result, truncate(result.message, MESSAGE_CHARS));
  if (current.observedGeneration === generation && sameConditions(wanted, current.conditions) && JSON.stringify(current.keyIds ?? []) === JSON.stringify(keyIds)) {
    return undefined;
  }
  const changedAt = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const since = (c: (typeof wanted)[number]): string => {
    const was = current.conditions?.find((p) => p.type === c.type);
    return was?.status === c.status ? was.lastTransitionTime : changedAt;
  };
  return {
    observedGeneration: generation,
    conditions: wanted.map((c) => ({ ...c, lastTransitionTime: since(c), observedGeneration: generation })),
    keyIds: [...keyIds],
    secretName: meta.name ?? '',
  };
}
