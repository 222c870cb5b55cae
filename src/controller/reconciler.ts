/**
 * Reconciles one sealed resource: unseal → plan → apply, then status and
 * events. Only `apply` and the status/event writers talk to the API server.
 */
import type { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper } from '../crypto/types.js';
import type { ErrorCode } from '../errors.js';
import { SealboxError, isSealboxError, truncate } from '../errors.js';
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
import { plan } from './plan.js';
import type { SealedSummary } from './sealed-cache.js';
import { summarizeSealed, withStatus } from './sealed-cache.js';
import type { SecretSummary } from './secret-cache.js';
import { secretDigest } from './secret-cache.js';
import type { StatusResult, StatusView } from './status.js';
import { MESSAGE_CHARS, isTransientFailure, nextStatus, statusView, usedKeys } from './status.js';
import { SyncRecords } from './sync-records.js';
import { NOT_OWNED_RECHECK_MS, REASONS, ReconcileError, SHARD_NOT_HELD, checkShard, refuseCostlyGroups } from './reconcile-errors.js';

export { NOT_OWNED_RECHECK_MS, REASONS, ReconcileError } from './reconcile-errors.js';

/** What the reconciler needs from the rest of the controller. */
export interface ReconcilerDeps {
  /** Sealed-resource and Secret reads and writes and status patches: KubeApi, or an in-memory one in unit tests. */
  readonly api: SecretApi;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly events: EventRecorder;
  readonly cache: DataKeyCache;
  /** Sealed resource from the informer cache, as summarizeSealed keeps it: no spec. */
  readonly getSealed: (namespace: string, name: string) => SealedSummary | undefined;
  /** Managed Secret from the informer cache (labelled ones only), as summarizeSecret keeps it: no values. */
  readonly getCachedSecret: (namespace: string, name: string) => SecretSummary | undefined;
  /** The whole `namespace/name` if the initial list handed it over (taken from where it was held): used instead of a GET when current. */
  readonly takeListed?: (key: string) => SealedSecretObject | undefined;
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
  readonly mayWrite?: (namespace: string) => boolean; // with --shards: the shard is held now (checked before each write)
}

type Result = 'unchanged' | 'created' | 'updated' | 'recreated';

/** What a sync left: the result, and the digest of the Secret as it is on the server now. */
interface Applied {
  readonly result: Result;
  readonly digest: string;
}

/** What one reconcile writes for: the sealed resource, its Secret's owner and the Secret Git wants. */
interface Target {
  readonly sealed: SealedSummary;
  readonly owner: Owner;
  /** The sealed resource's uid and generation, as the write-fight detector counts versions. */
  readonly version: string;
  readonly desired: SecretData;
  readonly opts: PlanOptions;
}

function targetOf(sealed: SealedSummary, desired: SecretData): Target {
  const meta = sealed.metadata;
  const owner: Owner = { apiVersion: SEALED_API_VERSION, kind: SEALED_KIND, name: meta.name, namespace: meta.namespace, uid: meta.uid };
  return { sealed, owner, version: `${owner.uid}/${String(meta.generation)}`, desired, opts: { patch: sealed.patch } };
}

/** The object events are recorded on. */
function eventTarget(s: SealedSummary): SealedSecretObject {
  return { apiVersion: SEALED_API_VERSION, kind: SEALED_KIND, metadata: s.metadata };
}

/** Unseals, plans and applies; writes status and events. */
export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #fights: FightDetector;
  readonly #records: SyncRecords;

  constructor(deps: ReconcilerDeps) {
    this.#records = new SyncRecords((n) => { deps.metrics.syncRecords.set(n); });
    this.#d = deps;
    this.#fights = deps.fights ?? new FightDetector();
  }

  /**
   * Reconciles `namespace/name`. Resolves when the Secret matches Git (or the
   * sealed resource is gone); throws to ask the work queue for a retry. A
   * resource whose cached summaries match its sync record costs nothing;
   * any other GETs the sealed resource (unless the initial list handed it
   * over), unseals it, plans and writes.
   */
  async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const listed = this.#d.takeListed?.(key);
    const cached = this.#d.getSealed(namespace, name) ?? (listed === undefined ? undefined : summarizeSealed(listed));
    if (cached === undefined) {
      this.#forget(namespace, name);
      return; // deleted: garbage collection removes the Secret
    }
    // Being deleted (a finalizer, --cascade=foreground): garbage collection removes the Secret; a write would undo that.
    if (cached.deleting) return;
    this.#records.keysNow(this.#d.fingerprints());
    this.#d.cache.keysNow(this.#d.fingerprints());
    if (this.#records.matches(cached, this.#d.getCachedSecret(namespace, name))) {
      this.#d.metrics.reconciles.inc({ result: 'unchanged' });
      return;
    }
    // the listed object is the version the summary was made of: no second digest of its spec
    if (listed !== undefined && listed.metadata?.resourceVersion === cached.metadata.resourceVersion) return this.#sync(key, listed, cached);
    const obj = await this.#getSealed(key, cached);
    if (obj !== undefined) await this.#sync(key, obj);
  }

  #forget(namespace: string, name: string): void {
    this.#fights.forget(namespace, name);
    this.#records.delete(`${namespace}/${name}`);
  }

  /** The sealed resource as it is now, or undefined when it is gone; a failed GET is reported as a failed reconcile. */
  async #getSealed(key: string, cached: SealedSummary): Promise<SealedSecretObject | undefined> {
    const { namespace, name } = cached.metadata;
    try {
      const obj = await this.#d.api.getSealed(namespace, name);
      if (obj === undefined) this.#forget(namespace, name);
      return obj;
    } catch (err) {
      this.#records.delete(key);
      await this.#failed(key, cached, err, []);
      throw err;
    }
  }

  /** The full path: unseal → plan → apply, then status; records the sync when all of it succeeded. `summary`: summarizeSealed(obj), if known. */
  async #sync(key: string, obj: SealedSecretObject, summary?: SealedSummary): Promise<void> {
    const current = summary ?? summarizeSealed(obj);
    if (current.deleting) return;
    const { namespace, name, generation } = current.metadata;
    const what = `sealed secret "${namespace}/${name}"`;
    let sealed: SealedSecret | undefined;
    try {
      sealed = parseSealedSecret({ ...obj, metadata: { ...obj.metadata, namespace } }, what);
      refuseCostlyGroups(sealed, what);
      const desired = await this.#unseal(sealed, what);
      const applied = await this.#apply(targetOf(current, desired), this.#d.getCachedSecret(namespace, name));
      this.#d.metrics.reconciles.inc({ result: applied.result });
      const status = await this.#setStatus(current, { ok: true, reason: 'Unsealed', message: `the secret matches the sealed resource${this.#d.shardNote?.(namespace) ?? ''}` }, usedKeys(sealed, this.#d.fingerprints()));
      if (status === undefined) this.#records.delete(key);
      else this.#records.set(withStatus(current, status), applied.digest, status === current.status ? undefined : current);
      if (applied.result !== 'unchanged' && this.#d.log.isLevelEnabled('debug')) this.#logLimited(key, (suppressed) => { this.#d.log.debug({ namespace, name, generation, result: applied.result, suppressed }, 'secret synced'); });
    } catch (err) {
      this.#records.delete(key);
      await this.#failed(key, current, err, sealed === undefined ? [] : usedKeys(sealed, this.#d.fingerprints()));
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
   * Counts and logs a failed reconcile, and reports it in status and a Warning event, except for 404
   * and 409 (the objects changed under us: the retry reads them again) and a shard no longer held.
   */
  async #failed(key: string, s: SealedSummary, err: unknown, keyIds: string[]): Promise<void> {
    this.#d.afterUnseal?.();
    const code: ErrorCode = isSealboxError(err) ? err.code : 'INTERNAL';
    const reason = err instanceof ReconcileError ? err.reason : REASONS[code];
    // Bounded, flat copy: a message must not keep a huge input alive, nor flood the logs.
    const message = truncate(err instanceof Error ? statusMessage(err) : 'unexpected failure', MESSAGE_CHARS);
    this.#d.metrics.reconciles.inc({ result: 'failed' });
    this.#d.metrics.errors.inc({ reason });
    const { namespace, name, generation } = s.metadata;
    this.#logLimited(key, (suppressed) => { this.#d.log.warn({ namespace, name, generation, reason, err: message, suppressed }, 'reconcile failed'); });
    if (isKubeStatus(err, 404) || isKubeStatus(err, 409) || (err instanceof ReconcileError && err.reason === SHARD_NOT_HELD)) return;
    await this.#setStatus(s, { ok: false, transient: isTransientFailure(err, reason), reason, message }, keyIds);
    await this.#d.events.warning(eventTarget(s), reason, message);
  }

  /** Logs through the per-resource limit (a debug line only when debug is on: else it tracks each resource for nothing); `suppressed` counts lines dropped. */
  #logLimited(key: string, write: (suppressed: number) => void): void {
    const suppressed = this.#d.logLimit === undefined ? 0 : this.#d.logLimit.allow(key);
    if (suppressed !== undefined) write(suppressed);
  }

  /**
   * Makes the Secret match Git. The cache decides alone in two cases: no
   * Secret cached (create it at once: one request, not a GET and a create),
   * or a cached digest equal to the Secret sealbox would create (nothing to
   * write, no request). Anything else, or a create that meets a Secret the
   * cache did not know of (409), plans against the Secret as it is now.
   */
  async #apply(t: Target, cached: SecretSummary | undefined): Promise<Applied> {
    const create = plan(t.owner, undefined, t.desired, t.opts);
    if (cached === undefined) {
      try {
        return await this.#write(t, create);
      } catch (err) {
        if (!isKubeStatus(err, 409)) throw err;
      }
    } else if (cached.digest !== '' && create.action === 'create' && cached.digest === secretDigest(create.secret)) {
      return { result: 'unchanged', digest: cached.digest };
    }
    const current = await this.#d.api.getSecret(t.owner.namespace, t.owner.name);
    const p = plan(t.owner, current, t.desired, t.opts);
    if (p.action === 'none' && current !== undefined) return { result: 'unchanged', digest: secretDigest(current) };
    return this.#write(t, p);
  }

  /** Carries out one plan, with its event; throws ReconcileError('REFUSED') for a refusal. */
  async #write(t: Target, p: Plan): Promise<Applied> {
    const { owner } = t;
    const on = eventTarget(t.sealed);
    switch (p.action) {
      case 'none':
        throw new SealboxError('INTERNAL', `secret "${owner.namespace}/${owner.name}": a plan of no change reached the writer; this is a bug, please report it`);
      case 'refuse':
        throw new ReconcileError('REFUSED', p.reason, p.message, { baseMs: NOT_OWNED_RECHECK_MS });
      case 'create': {
        const written = await this.#guarded(t, () => this.#d.api.createSecret(p.secret));
        await this.#d.events.normal(on, 'Created', `created secret ${owner.name}`);
        return { result: 'created', digest: secretDigest(written) };
      }
      case 'update': {
        const written = await this.#guarded(t, () => this.#d.api.replaceSecret(p.secret));
        await this.#d.events.normal(on, 'Updated', `updated secret ${owner.name} to match the sealed resource`);
        return { result: 'updated', digest: secretDigest(written) };
      }
      case 'recreate': {
        const written = await this.#guarded(t, async () => {
          await this.#d.api.deleteSecret(owner.namespace, owner.name, p.uid);
          return this.#d.api.createSecret(p.secret);
        });
        await this.#d.events.normal(on, 'Recreated', `re-created secret ${owner.name}: its type or immutability changed`);
        return { result: 'recreated', digest: secretDigest(written) };
      }
    }
  }

  /**
   * Runs one write through the fight check: a Secret changed back again and
   * again is left alone for a while (Conflict), not rewritten in a loop.
   */
  async #guarded(t: Target, write: () => Promise<V1Secret>): Promise<V1Secret> {
    const key = `${t.owner.namespace}/${t.owner.name}`;
    checkShard(this.#d.mayWrite, t.owner.namespace, `secret "${key}"`);
    const verdict = this.#fights.check(t.owner.namespace, t.owner.name, t.version, Date.now());
    if (verdict.hold) {
      throw new ReconcileError(
        'REFUSED',
        'Conflict',
        `secret "${key}" was changed back by another writer ${verdict.reverts} times within ${this.#fights.windowMs / 1000}s of sealbox restoring it; sealbox stopped writing it for ${Math.round(verdict.backoffMs / 1000)}s and then tries once more: find the other writer (the Secret's managedFields name it) and stop it`,
        { afterMs: verdict.waitMs },
      );
    }
    const written = await write();
    this.#fights.written(t.owner.namespace, t.owner.name, t.version, Date.now());
    return written;
  }

  /**
   * Writes the status unless `s` (read from the server just now) has it
   * already. Returns the view of the status on the server afterwards, or
   * undefined when writing it failed (logged, not thrown).
   */
  async #setStatus(s: SealedSummary, result: StatusResult, keyIds: string[]): Promise<StatusView | undefined> {
    const { namespace, name, generation } = s.metadata;
    const next = nextStatus(name, generation, s.status, result, keyIds, new Date());
    if (next === undefined) return s.status;
    if (this.#d.mayWrite?.(namespace) === false) return undefined;
    try {
      await this.#d.api.patchSealedStatus(namespace, name, next as unknown as Record<string, unknown>);
      return statusView(next);
    } catch (err) {
      if (!isKubeStatus(err, 404)) this.#d.log.warn({ namespace, name, err: err instanceof Error ? truncate(err.message, MESSAGE_CHARS) : 'unknown' }, 'status update failed');
      return undefined;
    }
  }
}
