/**
 * Reconciles one sealed resource: unseal → plan → apply, then status and
 * events. Only `apply` and the status/event writers talk to the API server.
 */
import { describeRecipient } from '../crypto/group.js';
import type { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper } from '../crypto/types.js';
import type { ErrorCode } from '../errors.js';
import { SealboxError, isSealboxError, truncate } from '../errors.js';
import { MAX_REWRAP_GROUPS } from './rewrap.js';
import { unsealSealedSecret } from '../format/seal.js';
import type { SealedSecret } from '../format/sealed.js';
import { SEALED_API_VERSION, SEALED_KIND, parseSealedSecret } from '../format/sealed.js';
import type { SecretData } from '../format/secret.js';
import type { EventRecorder } from './events.js';
import { FightDetector } from './fights.js';
import type { KubeApi } from '../kube/api.js';
import { isKubeStatus } from '../kube/errors.js';
import type { SealedSecretObject, V1Secret } from '../kube/types.js';
import { statusMessage } from './hints.js';
import type { LogLimiter, Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Owner, Plan } from './plan.js';
import { PATCH_ANNOTATION, plan } from './plan.js';
import { summarizeDesired } from './secret-cache.js';

/** Condition reason for each error code; stable, documented in README. */
export const REASONS: Readonly<Record<ErrorCode, string>> = {
  INPUT: 'InvalidSealedSecret',
  SCOPE: 'ScopeMismatch',
  NO_KEY: 'NoKey',
  TAMPERED: 'Tampered',
  PROVIDER: 'ProviderUnavailable',
  KUBE: 'ApiError',
  IO: 'InternalError',
  FINDINGS: 'InternalError',
  INTERNAL: 'InternalError',
};

/** A failure with its own condition reason (e.g. SecretNotOwned). */
export class ReconcileError extends SealboxError {
  readonly reason: string;
  /** Look again after at most this long, whatever the backoff says. */
  readonly retryAfterMs: number | undefined;
  /** Back off from this delay instead of the queue's base: a slow poll that keeps slowing down. */
  readonly retryBaseMs: number | undefined;
  constructor(reason: string, message: string, retryAfterMs?: number, retryBaseMs?: number) {
    super('KUBE', message);
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
    this.retryBaseMs = retryBaseMs;
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
  readonly api: KubeApi;
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
}

/** Longest message written to status, events and logs. */
const MESSAGE_CHARS = 1024;

interface Status {
  observedGeneration: number;
  conditions: { type: string; status: 'True' | 'False'; reason: string; message: string; lastTransitionTime: string; observedGeneration: number }[];
  keyIds: string[];
  secretName: string;
}

function usedKeys(s: SealedSecret, ours: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const g of s.dataKeys) {
    const mine = g.recipients.find((r) => r.type === 'cert' && ours.has(r.id)) ?? g.recipients.find((r) => r.type !== 'cert');
    if (mine !== undefined) out.add(describeRecipient(mine));
  }
  return [...out].sort();
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

/** Unseals, plans and applies; writes status and events. */
export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #fights: FightDetector;

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
      const started = process.hrtime.bigint();
      const desired = await unsealSealedSecret(sealed, this.#d.unwrappers(), what, this.#d.cache);
      this.#d.metrics.unsealSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.#d.afterUnseal?.();
      const result = await this.#apply(obj, desired);
      this.#d.metrics.reconciles.inc({ result });
      await this.#setStatus(obj, { ok: true, reason: 'Unsealed', message: 'the secret matches the sealed resource' }, usedKeys(sealed, this.#d.fingerprints()));
      if (result !== 'unchanged') this.#logLimited(key, (suppressed) => { this.#d.log.info({ namespace, name, generation, result, suppressed }, 'secret synced'); });
    } catch (err) {
      this.#d.afterUnseal?.();
      const code: ErrorCode = isSealboxError(err) ? err.code : 'INTERNAL';
      const reason = err instanceof ReconcileError ? err.reason : REASONS[code];
      // Bounded, flat copy: a message must not keep a huge input alive, nor flood the logs.
      const message = truncate(err instanceof Error ? statusMessage(err) : 'unexpected failure', MESSAGE_CHARS);
      this.#d.metrics.reconciles.inc({ result: 'failed' });
      this.#d.metrics.errors.inc({ reason });
      this.#logLimited(key, (suppressed) => { this.#d.log.warn({ namespace, name, generation, reason, err: message, suppressed }, 'reconcile failed'); });
      if (!(isKubeStatus(err, 404) || isKubeStatus(err, 409))) {
        await this.#setStatus(obj, { ok: false, reason, message }, sealed === undefined ? [] : usedKeys(sealed, this.#d.fingerprints()));
        await this.#d.events.warning(obj, reason, message);
      }
      throw err;
    }
  }

  /** Logs through the per-resource limit; `suppressed` counts the lines dropped before this one. */
  #logLimited(key: string, write: (suppressed: number) => void): void {
    const suppressed = this.#d.logLimit === undefined ? 0 : this.#d.logLimit.allow(key);
    if (suppressed !== undefined) write(suppressed);
  }

  async #apply(obj: SealedSecretObject, desired: SecretData): Promise<'unchanged' | 'created' | 'updated' | 'recreated'> {
    const meta = obj.metadata ?? {};
    const owner: Owner = { apiVersion: SEALED_API_VERSION, kind: SEALED_KIND, name: meta.name ?? '', namespace: meta.namespace ?? '', uid: meta.uid ?? '' };
    const opts = { patch: meta.annotations?.[PATCH_ANNOTATION] === 'true' };
    // Every write goes through the fight check: a Secret changed back again
    // and again is left alone for a while (Conflict), not rewritten in a loop.
    const version = `${owner.uid}/${meta.generation ?? 0}`;
    const write = async (fn: () => Promise<unknown>): Promise<void> => {
      this.#holdIfFighting(owner, version);
      await fn();
      this.#fights.written(`${owner.namespace}/${owner.name}`, version, Date.now());
    };
    const cached = this.#d.getCachedSecret(owner.namespace, owner.name);
    if (cached === undefined) {
      // The cache holds every managed Secret, so a miss nearly always means
      // there is none: create it at once (one request, not a GET and a
      // create) and read the Secret only when it exists after all (409: not
      // ours, or not in the cache yet).
      const fresh = plan(owner, undefined, desired, opts);
      if (fresh.action === 'create' && (await this.#createUnlessExists(obj, fresh.secret, write))) return 'created';
    } else if (plan(owner, cached, summarizeDesired(desired), opts).action === 'none') {
      // The summary's digests match Git: nothing to write, no request sent.
      return 'unchanged';
    }
    // Something differs (or the cache is behind): act on the Secret as it is now.
    const p: Plan = plan(owner, await this.#d.api.getSecret(owner.namespace, owner.name), desired, opts);
    switch (p.action) {
      case 'none':
        return 'unchanged';
      case 'refuse':
        throw new ReconcileError(p.reason, p.message, undefined, NOT_OWNED_RECHECK_MS);
      case 'create':
        await write(() => this.#d.api.createSecret(p.secret));
        await this.#d.events.normal(obj, 'Created', `created secret ${owner.name}`);
        return 'created';
      case 'update':
        await write(() => this.#d.api.replaceSecret(p.secret));
        await this.#d.events.normal(obj, 'Updated', `updated secret ${owner.name} to match the sealed resource`);
        return 'updated';
      case 'recreate':
        await write(async () => {
          await this.#d.api.deleteSecret(owner.namespace, owner.name, p.uid);
          await this.#d.api.createSecret(p.secret);
        });
        await this.#d.events.normal(obj, 'Recreated', `re-created secret ${owner.name}: its type or immutability changed`);
        return 'recreated';
    }
  }

  /** Creates the Secret through `write`; false when one of that name exists already (409). */
  async #createUnlessExists(obj: SealedSecretObject, secret: V1Secret, write: (fn: () => Promise<unknown>) => Promise<void>): Promise<boolean> {
    try {
      await write(() => this.#d.api.createSecret(secret));
    } catch (err) {
      if (isKubeStatus(err, 409)) return false;
      throw err;
    }
    await this.#d.events.normal(obj, 'Created', `created secret ${secret.metadata?.name ?? ''}`);
    return true;
  }

  /** Throws ReconcileError('Conflict') while the Secret is being fought over; see FightDetector. */
  #holdIfFighting(owner: Owner, version: string): void {
    const verdict = this.#fights.check(`${owner.namespace}/${owner.name}`, version, Date.now());
    if (!verdict.hold) return;
    throw new ReconcileError(
      'Conflict',
      `secret "${owner.namespace}/${owner.name}" was changed back by another writer ${verdict.reverts} times within ${this.#fights.windowMs / 1000}s of sealbox restoring it; sealbox stopped writing it for ${Math.round(verdict.backoffMs / 1000)}s and then tries once more: find the other writer (the Secret's managedFields name it) and stop it`,
      verdict.waitMs,
    );
  }

  async #setStatus(obj: SealedSecretObject, result: { ok: boolean; reason: string; message: string }, keyIds: string[]): Promise<void> {
    const meta = obj.metadata ?? {};
    const generation = meta.generation ?? 0;
    const current = (obj.status ?? {}) as Partial<Status>;
    const ready = current.conditions?.find((c) => c.type === 'Ready');
    const status: Status['conditions'][number]['status'] = result.ok ? 'True' : 'False';
    const message = truncate(result.message, MESSAGE_CHARS);
    if (
      current.observedGeneration === generation &&
      ready?.status === status &&
      ready.reason === result.reason &&
      ready.message === message &&
      JSON.stringify(current.keyIds ?? []) === JSON.stringify(keyIds)
    ) {
      return;
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const next: Status = {
      observedGeneration: generation,
      conditions: [{ type: 'Ready', status, reason: result.reason, message, lastTransitionTime: ready?.status === status ? ready.lastTransitionTime : now, observedGeneration: generation }],
      keyIds,
      secretName: meta.name ?? '',
    };
    try {
      await this.#d.api.patchSealedStatus(meta.namespace ?? '', meta.name ?? '', next as unknown as Record<string, unknown>);
      // Keep the cached object's status current so an unchanged resync writes nothing.
      obj.status = next as unknown as Record<string, unknown>;
    } catch (err) {
      if (!isKubeStatus(err, 404)) this.#d.log.warn({ namespace: meta.namespace, name: meta.name, err: err instanceof Error ? truncate(err.message, MESSAGE_CHARS) : 'unknown' }, 'status update failed');
    }
  }
}
