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
import { intern, shortDigest } from './digest.js';

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

/** The parts of a condition that nextStatus compares. */
type Compared = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/**
 * What a cache keeps of a status: each condition's type, status and
 * transition time, and a digest of everything nextStatus compares
 * (observedGeneration, each condition's type, status, reason and message,
 * the key ids), so that a failure message of a kilobyte costs a digest.
 */
export interface StatusView {
  readonly since: readonly { readonly type: string; readonly status: string; readonly time: string }[];
  readonly check: string;
}

function statusCheck(observedGeneration: unknown, conditions: readonly Partial<Record<keyof Compared, unknown>>[], keyIds: unknown): string {
  const parts = conditions.flatMap((c) => [String(c.type), String(c.status), String(c.reason), String(c.message)]);
  return intern(shortDigest([String(observedGeneration), String(conditions.length), ...parts, JSON.stringify(keyIds ?? [])]));
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object';

/** Most distinct status views shared (VIEWS); the pool starts over when full. */
const VIEWS_MAX = 4096;
/** A status with longer conditions (someone else wrote it) is not shared: the pool stays small. */
const VIEW_KEY_MAX = 512;

/**
 * Status views are shared: the resources synced in one second with one
 * generation and one set of keys have equal ones, and a view of its own
 * was about 270 bytes per resource (issue 17 §1). Views are never changed.
 */
const VIEWS = new Map<string, StatusView>();

function sharedView(since: StatusView['since'], check: string): StatusView {
  const key = [check, ...since.flatMap((s) => [s.type, s.status, s.time])].join('\0');
  const hit = VIEWS.get(key);
  if (hit !== undefined) return hit;
  const view = { since, check };
  if (key.length > VIEW_KEY_MAX) return view;
  if (VIEWS.size >= VIEWS_MAX) VIEWS.clear();
  VIEWS.set(key, view);
  return view;
}

/** The view of a status as the API server returns it (any shape: a user may have written it); equal views are one object. */
export function statusView(raw: unknown): StatusView {
  const status = isObject(raw) ? raw : {};
  const conditions = (Array.isArray(status.conditions) ? (status.conditions as unknown[]) : []).filter(isObject);
  const since = conditions
    .filter((c) => typeof c.type === 'string' && typeof c.status === 'string' && typeof c.lastTransitionTime === 'string')
    .map((c) => ({ type: intern(String(c.type)), status: intern(String(c.status)), time: intern(String(c.lastTransitionTime)) }));
  return sharedView(since, statusCheck(status.observedGeneration, conditions, status.keyIds));
}

/**
 * Returns the status to write for `result` on the sealed resource `name`
 * at `generation`, or undefined when `current` says the same already (so a
 * resync of a synced resource writes nothing). A condition keeps its
 * lastTransitionTime while its status holds.
 */
export function nextStatus(name: string, generation: number, current: StatusView, result: StatusResult, keyIds: readonly string[], now: Date): Status | undefined {
  const wanted = conditionsOf(result, truncate(result.message, MESSAGE_CHARS));
  if (current.check === statusCheck(generation, wanted, keyIds)) return undefined;
  const changedAt = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const since = (c: Compared): string => current.since.find((p) => p.type === c.type && p.status === c.status)?.time ?? changedAt;
  return {
    observedGeneration: generation,
    conditions: wanted.map((c) => ({ ...c, lastTransitionTime: since(c), observedGeneration: generation })),
    keyIds: [...keyIds],
    secretName: name,
  };
}
