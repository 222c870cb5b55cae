/**
 * Reconciles one sealed resource: unseal → plan → apply, then status and
 * events. Only `apply` and the status/event writers talk to the API server.
 */
import type { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper } from '../crypto/types.js';
import type { ErrorCode } from '../errors.js';
import { SealboxError, isSealboxError, truncate } from '../errors.js';
import { MAX_REWRAP_GROUPS } from './rewrap.js';
import { unsealSealedSecret } from '../format/seal.js';
import { type SealedSecret, SEALED_API_VERSION, SEALED_KIND, parseSealedSecret } from '../format/sealed.js';
import type { SecretData } from '../format/secret.js';
import type { EventRecorder } from './events.js';
import { FightDetector } from './fights.js';
import type { SecretApi } from '../kube/api.js';
import { isKubeStatus } from '../kube/errors.js';
import type { SealedSecretObject, V1Secret } from '../kube/types.js';
import { statusMessage } from './hints.js';
import type { LogLimiter, Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Owner, Plan, PlanOptions } from './plan.js';
import { PATCH_ANNOTATION, plan } from './plan.js';
import { summarizeDesired } from './secret-cache.js';
import type { Status, StatusResult } from './status.js';
import { MESSAGE_CHARS, isTransientFailure, nextStatus, usedKeys } from './status.js';

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

/** What the reconciler needs from the rest of the controller. */
export interface ReconcilerDeps {
  /** Secret reads and writes and status patches: KubeApi, or an in-memory one in unit tests. */
  readonly api: SecretApi;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly events: EventRecorder;
  readonly cache: DataKeyCache;
  /** Sealed resource from the informer cache. */
  readonly getSealed: (namespace: string, name: string) => SealedSecretObject | undefined;
  /** Managed Secret from the informer cache (labelled ones only), as summarizeSecret keeps it: no values. */
  readonly getCachedSecret: (namespace: string, name: string) => V1Secret | undefined;
  /** Every key that may unwrap: cluster keys first, then KMS. */
  readonly unwrappers: () => readonly KeyUnwrapper[];
  /** Cluster-key fingerprints, to report which key was used. */
  readonly fingerprints: () => ReadonlySet<string>;
  /** Called after unsealing, to move RSA counters into metrics. */
  readonly afterUnseal?: () => void;
  /** Bounds the log lines per resource (none when absent). */
  readonly logLimit?: LogLimiter;
  /** Write-fight detection (default: FIGHT_DEFAULTS). */
  readonly fights?: FightDetector;
  readonly shardNote?: (namespace: string) => string; // " (shard 1 of 3)" after the Ready message, with --shards
}

/**
 * Throws SealboxError('INPUT') for a resource with more data-key groups than
 * one re-wrap request may carry: each group can cost a private-key operation,
 * and anyone with the certificate can write 1,000 valid ones (found by the
 * re-attack: 4 such resources cost 4,000 RSA-4096 operations per apply).
 */
function refuseCostlyGroups(s: SealedSecret, what: string): void {
  if (s.dataKeys.length <= MAX_REWRAP_GROUPS) return;
  throw new SealboxError('INPUT', `${what} has ${String(s.dataKeys.length)} data-key groups, more than the ${String(MAX_REWRAP_GROUPS)} the controller unseals for one resource; have a key holder re-seal it with fewer groups (sealbox rotate --new-data-key)`);
}

type Result = 'unchanged' | 'created' | 'updated' | 'recreated';

/** What one reconcile writes for: the sealed resource, its Secret's owner and the Secret Git wants. */
interface Target {
  readonly obj: SealedSecretObject;
  readonly owner: Owner;
  /** The sealed resource's uid and generation, as the write-fight detector counts versions. */
  readonly version: string;
  readonly desired: SecretData;
  readonly opts: PlanOptions;
}

function targetOf(obj: SealedSecretObject, desired: SecretData): Target {
  const meta = obj.metadata ?? {};
  const owner: Owner = { apiVersion: SEALED_API_VERSION, kind: SEALED_KIND, name: meta.name ?? '', namespace: meta.namespace ?? '', uid: meta.uid ?? '' };
  return { obj, owner, version: `${owner.uid}/${meta.generation ?? 0}`, desired, opts: { patch: meta.annotations?.[PATCH_ANNOTATION] === 'true' } };
}

/** Unseals, plans and applies; writes status and events. */
export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #fights: FightDetector;
  /**
   * Status written that the informer's cache may not show yet, by key, with
   * the resourceVersion the cache showed when it was written: while the
   * cache still shows that version, this is the status on the server. The
   * cache's own objects are never changed.
   */
  readonly #written = new Map<string, { readonly resourceVersion: string; readonly status: Status }>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#fights = deps.fights ?? new FightDetector();
  }

  /**
   * Reconciles `namespace/name`. Resolves when the Secret matches Git (or the
   * sealed resource is gone); throws to ask the work queue for a retry.
   */
  async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const obj = this.#d.getSealed(namespace, name);
    if (obj === undefined) {
      this.#fights.forget(key);
      this.#written.delete(key);
      return; // deleted: garbage collection removes the Secret
    }
    // Being deleted (a finalizer, --cascade=foreground): garbage collection is
    // removing the Secret, and writing it again would undo that.
    if (obj.metadata?.deletionTimestamp !== undefined) return;
    const generation = obj.metadata?.generation ?? 0;
    const what = `sealed secret "${namespace}/${name}"`;
    let sealed: SealedSecret | undefined;
    try {
      sealed = parseSealedSecret({ ...obj, metadata: { ...obj.metadata, namespace } }, what);
      refuseCostlyGroups(sealed, what);
      const desired = await this.#unseal(sealed, what);
      const result = await this.#apply(targetOf(obj, desired));
      this.#d.metrics.reconciles.inc({ result });
      await this.#setStatus(key, obj, { ok: true, reason: 'Unsealed', message: `the secret matches the sealed resource${this.#d.shardNote?.(namespace) ?? ''}` }, usedKeys(sealed, this.#d.fingerprints()));
      if (result !== 'unchanged') this.#logLimited(key, (suppressed) => { this.#d.log.debug({ namespace, name, generation, result, suppressed }, 'secret synced'); });
    } catch (err) {
      await this.#failed(key, obj, err, sealed === undefined ? [] : usedKeys(sealed, this.#d.fingerprints()));
      throw err;
    }
  }

  async #unseal(sealed: SealedSecret, what: string): Promise<SecretData> {
    const started = process.hrtime.bigint();
    const desired = await unsealSealedSecret(sealed, this.#d.unwrappers(), what, this.#d.cache);
    this.#d.metrics.unsealSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.#d.afterUnseal?.();
    return desired;
  }

  /**
   * Counts and logs a failed reconcile, and reports it in status and a
   * Warning event, except for 404 and 409 (the objects changed under us:
   * the retry reads them again).
   */
  async #failed(key: string, obj: SealedSecretObject, err: unknown, keyIds: string[]): Promise<void> {
    this.#d.afterUnseal?.();
    const code: ErrorCode = isSealboxError(err) ? err.code : 'INTERNAL';
    const reason = err instanceof ReconcileError ? err.reason : REASONS[code];
    // Bounded, flat copy: a message must not keep a huge input alive, nor flood the logs.
    const message = truncate(err instanceof Error ? statusMessage(err) : 'unexpected failure', MESSAGE_CHARS);
    this.#d.metrics.reconciles.inc({ result: 'failed' });
    this.#d.metrics.errors.inc({ reason });
    const { namespace, name, generation = 0 } = obj.metadata ?? {};
    this.#logLimited(key, (suppressed) => { this.#d.log.warn({ namespace, name, generation, reason, err: message, suppressed }, 'reconcile failed'); });
    if (isKubeStatus(err, 404) || isKubeStatus(err, 409)) return;
    await this.#setStatus(key, obj, { ok: false, transient: isTransientFailure(err, reason), reason, message }, keyIds);
    await this.#d.events.warning(obj, reason, message);
  }

  /** Logs through the per-resource limit; `suppressed` counts the lines dropped before this one. */
  #logLimited(key: string, write: (suppressed: number) => void): void {
    const suppressed = this.#d.logLimit === undefined ? 0 : this.#d.logLimit.allow(key);
    if (suppressed !== undefined) write(suppressed);
  }

  /**
   * Makes the Secret match Git: plans against the cached Secret first, then,
   * when the cache cannot decide or its plan met a Secret it did not know of,
   * against the Secret as it is now, and writes the plan.
   */
  async #apply(t: Target): Promise<Result> {
    const cached = this.#planFromCache(t);
    if (cached !== undefined) {
      try {
        return await this.#write(t, cached);
      } catch (err) {
        // 409: a Secret of that name exists after all (not ours, or not in the cache yet).
        if (!isKubeStatus(err, 409)) throw err;
      }
    }
    const current = await this.#d.api.getSecret(t.owner.namespace, t.owner.name);
    return this.#write(t, plan(t.owner, current, t.desired, t.opts));
  }

  /**
   * The plan the cache alone can decide, or undefined. The cache holds every
   * managed Secret, so a miss nearly always means there is none: create it
   * at once (one request, not a GET and a create). A cached summary whose
   * digests match Git means nothing to write and no request. Anything else
   * needs the Secret's values, which the cache does not keep.
   */
  #planFromCache(t: Target): Plan | undefined {
    const cached = this.#d.getCachedSecret(t.owner.namespace, t.owner.name);
    if (cached === undefined) return plan(t.owner, undefined, t.desired, t.opts);
    return plan(t.owner, cached, summarizeDesired(t.desired), t.opts).action === 'none' ? { action: 'none' } : undefined;
  }

  /** Carries out one plan, with its event; throws ReconcileError('REFUSED') for a refusal. */
  async #write(t: Target, p: Plan): Promise<Result> {
    const { obj, owner } = t;
    switch (p.action) {
      case 'none':
        return 'unchanged';
      case 'refuse':
        throw new ReconcileError('REFUSED', p.reason, p.message, { baseMs: NOT_OWNED_RECHECK_MS });
      case 'create':
        await this.#guarded(t, () => this.#d.api.createSecret(p.secret));
        await this.#d.events.normal(obj, 'Created', `created secret ${owner.name}`);
        return 'created';
      case 'update':
        await this.#guarded(t, () => this.#d.api.replaceSecret(p.secret));
        await this.#d.events.normal(obj, 'Updated', `updated secret ${owner.name} to match the sealed resource`);
        return 'updated';
      case 'recreate':
        await this.#guarded(t, async () => {
          await this.#d.api.deleteSecret(owner.namespace, owner.name, p.uid);
          await this.#d.api.createSecret(p.secret);
        });
        await this.#d.events.normal(obj, 'Recreated', `re-created secret ${owner.name}: its type or immutability changed`);
        return 'recreated';
    }
  }

  /**
   * Runs one write through the fight check: a Secret changed back again and
   * again is left alone for a while (Conflict), not rewritten in a loop.
   */
  async #guarded(t: Target, write: () => Promise<unknown>): Promise<void> {
    const key = `${t.owner.namespace}/${t.owner.name}`;
    const verdict = this.#fights.check(key, t.version, Date.now());
    if (verdict.hold) {
      throw new ReconcileError(
        'REFUSED',
        'Conflict',
        `secret "${key}" was changed back by another writer ${verdict.reverts} times within ${this.#fights.windowMs / 1000}s of sealbox restoring it; sealbox stopped writing it for ${Math.round(verdict.backoffMs / 1000)}s and then tries once more: find the other writer (the Secret's managedFields name it) and stop it`,
        { afterMs: verdict.waitMs },
      );
    }
    await write();
    this.#fights.written(key, t.version, Date.now());
  }

  /** Writes the status unless the server has it already; a failure is logged, not thrown. */
  async #setStatus(key: string, obj: SealedSecretObject, result: StatusResult, keyIds: string[]): Promise<void> {
    const resourceVersion = obj.metadata?.resourceVersion ?? '';
    const written = this.#written.get(key);
    const current = written?.resourceVersion === resourceVersion ? written.status : (obj.status ?? {}) as Partial<Status>;
    if (written !== undefined && written.resourceVersion !== resourceVersion) this.#written.delete(key);
    const next = nextStatus(obj, current, result, keyIds, new Date());
    if (next === undefined) return;
    const { namespace = '', name = '' } = obj.metadata ?? {};
    try {
      await this.#d.api.patchSealedStatus(namespace, name, next as unknown as Record<string, unknown>);
      this.#written.set(key, { resourceVersion, status: next });
    } catch (err) {
      if (!isKubeStatus(err, 404)) this.#d.log.warn({ namespace, name, err: err instanceof Error ? truncate(err.message, MESSAGE_CHARS) : 'unknown' }, 'status update failed');
    }
  }
}
