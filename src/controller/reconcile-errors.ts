/**
 * The failures a reconcile reports: condition reasons per error code, the
 * ReconcileError that carries its own reason and retry hints, and the
 * refusal of resources too costly to unseal.
 */
import type { ErrorCode } from '../errors.js';
import { SealboxError } from '../errors.js';
import type { SealedSecret } from '../format/sealed.js';
import { MAX_REWRAP_GROUPS } from './rewrap.js';

/** Condition reason for each error code; stable, documented in README. */
export const REASONS: Readonly<Record<ErrorCode, string>> = {
  INPUT: 'InvalidSealedSecret',
  SCOPE: 'ScopeMismatch',
  NO_KEY: 'NoKey',
  TAMPERED: 'Tampered',
  PROVIDER: 'ProviderUnavailable',
  KUBE: 'ApiError',
  REFUSED: 'Refused',
  IO: 'InternalError',
  FINDINGS: 'InternalError',
  INTERNAL: 'InternalError',
};

/**
 * A failure with its own condition reason. Refusals (SecretNotOwned, a write
 * fight's Conflict) carry the REFUSED code: the controller declined to write,
 * no request failed.
 */
export class ReconcileError extends SealboxError {
  readonly reason: string;
  /** Look again after at most this long, whatever the backoff says. */
  readonly retryAfterMs: number | undefined;
  /** Back off from this delay instead of the queue's base: a slow poll that keeps slowing down. */
  readonly retryBaseMs: number | undefined;
  constructor(code: ErrorCode, reason: string, message: string, retry: { afterMs?: number; baseMs?: number } = {}) {
    super(code, message);
    this.reason = reason;
    this.retryAfterMs = retry.afterMs;
    this.retryBaseMs = retry.baseMs;
  }
}

/**
 * When a sealed resource blocked by a Secret it does not own first looks
 * again: such Secrets are outside the managed-label watch, so a take-over
 * annotation is noticed on this poll. Each refusal in a row doubles the wait,
 * up to --max-backoff (15 s, 30 s, 1 min, ... 5 min), so thousands of refused
 * resources cost a few requests a second, not the whole API budget (issue
 * 11, item 6c). A change to the sealed resource itself is acted on at once.
 */
export const NOT_OWNED_RECHECK_MS = 15_000;

/** The reason of a refusal to write for a shard this replica no longer holds: never reported (its holder reconciles). */
export const SHARD_NOT_HELD = 'ShardNotHeld';

/**
 * Throws ReconcileError(SHARD_NOT_HELD) unless `mayWrite` lets this replica
 * write in `namespace` now. A reconcile that started while the replica held
 * the shard can outlive its Lease (a slow unseal, a hand-over that stopped
 * waiting for it), and wrote beside the new holder (found by attack17).
 */
export function checkShard(mayWrite: ((namespace: string) => boolean) | undefined, namespace: string, what: string): void {
  if (mayWrite === undefined || mayWrite(namespace)) return;
  throw new ReconcileError('REFUSED', SHARD_NOT_HELD, `${what}: not written, this replica no longer holds the shard of namespace "${namespace}"; its holder reconciles it`);
}

/**
 * Throws SealboxError('INPUT') for a resource with more data-key groups than
 * one re-wrap request may carry: each group can cost a private-key operation,
 * and anyone with the certificate can write 1,000 valid ones (found by the
 * re-attack: 4 such resources cost 4,000 RSA-4096 operations per apply).
 */
export function refuseCostlyGroups(s: SealedSecret, what: string): void {
  if (s.dataKeys.length <= MAX_REWRAP_GROUPS) return;
  throw new SealboxError('INPUT', `${what} has ${String(s.dataKeys.length)} data-key groups, more than the ${String(MAX_REWRAP_GROUPS)} the controller unseals for one resource; have a key holder re-seal it with fewer groups (sealbox rotate --new-data-key)`);
}

