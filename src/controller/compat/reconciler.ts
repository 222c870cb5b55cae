/**
 * Reconciles one Sealed Secrets SealedSecret in compatibility mode
 * (`--sealed-secrets-compat`): unseal (every key tried, the working one
 * remembered) → planCompat → apply, then the `Synced` status and the events
 * Sealed Secrets records: `Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed`;
 * and `UnsealDeferred` when its namespace is over its budget of RSA
 * operations (budget.ts).
 */
import type { DataKeyCache } from '../../crypto/key-cache.js';
import { SealboxError, isSealboxError, truncate } from '../../errors.js';
import { BITNAMI_API_VERSION, BITNAMI_KIND, parseBitnamiSealed, unsealBitnami } from '../../format/bitnami.js';
import type { SecretApi } from '../../kube/api.js';
import type { SealedSecretObject, V1Secret } from '../../kube/types.js';
import type { EventRecorder } from '../events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { MESSAGE_CHARS } from '../status.js';
import type { UnsealBudget } from './budget.js';
import { OverBudget } from './budget.js';
import type { OpenerKey, WorkingKeys } from './opener.js';
import { bitnamiOpener } from './opener.js';
import type { BitnamiOwner } from './plan.js';
import { desiredSecret, planCompat } from './plan.js';
import { nextCompatStatus } from './status.js';

/** What the compat reconciler needs from the controller. */
export interface CompatDeps {
  readonly api: SecretApi & { patchBitnamiStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> };
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The whole SealedSecret (the cache keeps summaries: held from the initial list, or a GET), undefined when it is gone. */
  readonly getSealed: (namespace: string, name: string) => Promise<SealedSecretObject | undefined>;
  /** Every sealing key, in the order to try them. */
  readonly keys: () => readonly OpenerKey[];
  readonly cache: DataKeyCache;
  readonly working: WorkingKeys;
  /** Milliseconds to wait before creating the Secret `namespace/name` (ForeignDeletions); 0 or absent: none. */
  readonly waitToCreate?: (key: string) => number;
  /** Called after unsealing, to move RSA counters into metrics. */
  readonly afterUnseal?: () => void;
  /** RSA private operations each namespace may spend a minute; absent: no limit. */
  readonly budget?: UnsealBudget;
}

function ownerOf(obj: SealedSecretObject, namespace: string): BitnamiOwner {
  const meta = obj.metadata ?? {};
  return { apiVersion: BITNAMI_API_VERSION, kind: BITNAMI_KIND, namespace, name: meta.name ?? '', uid: meta.uid ?? '' };
}

/** A failed write, recorded as ErrUpdateFailed (not as an unseal failure). */
class UpdateFailed extends SealboxError {}

/**
 * A write that cannot succeed until the Secret is deleted (an immutable
 * one): recorded like any failed write but not retried, as Sealed Secrets
 * forgets it; the next change of the SealedSecret, a deletion of the
 * Secret or a resync tries again.
 */
class ImmutableTarget extends UpdateFailed {}

/** A creation put off while another writer may re-create its Secret: retried after `retryAfterMs`, no event. */
class CreateDeferred extends SealboxError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super('REFUSED', message);
    this.retryAfterMs = retryAfterMs;
  }
}

function messageOf(err: unknown): string {
  return truncate(err instanceof Error ? err.message : 'unexpected failure', MESSAGE_CHARS);
}

/** Unseals, plans and applies Sealed Secrets' SealedSecrets. */
export class CompatReconciler {
  readonly #d: CompatDeps;

  constructor(deps: CompatDeps) {
    this.#d = deps;
  }

  /** Reconciles `namespace/name`; throws to ask the work queue for a retry. */
  async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    this.#checkBudget(namespace, name);
    const obj = await this.#d.getSealed(namespace, name);
    if (obj === undefined) {
      this.#d.working.delete(key);
      return; // deleted: garbage collection removes the Secret
    }
    if (obj.metadata?.deletionTimestamp !== undefined) return;
    try {
      const secret = await this.#unseal(key, obj, namespace);
      await this.#apply(ownerOf(obj, namespace), secret);
      this.#d.metrics.reconciles.inc({ result: 'compat' });
    } catch (err) {
      if (err instanceof CreateDeferred) {
        this.#d.log.info({ namespace, name, retryInMs: err.retryAfterMs }, err.message);
        throw err;
      }
      if (err instanceof OverBudget) {
        await this.#deferred(obj, err);
        throw err;
      }
      await this.#failed(obj, err);
      if (err instanceof ImmutableTarget) return;
      throw err;
    }
    await this.#setStatus(obj, undefined);
    await this.#d.events.normal(obj, 'Unsealed', 'SealedSecret unsealed successfully');
  }

  async #unseal(key: string, obj: SealedSecretObject, namespace: string): Promise<V1Secret> {
    const what = `sealedsecret "${key}"`;
    try {
      const sealed = parseBitnamiSealed({ ...obj, metadata: { ...obj.metadata, namespace } }, what);
      const keys = this.#d.keys();
      this.#d.cache.keysNow(new Set(keys.map((k) => k.fingerprint)));
      const open = bitnamiOpener(key, keys, this.#d.working, this.#d.cache, this.#d.budget?.charger(namespace));
      return desiredSecret(ownerOf(obj, namespace), await unsealBitnami(sealed, open, what));
    } finally {
      this.#d.afterUnseal?.();
    }
  }

  async #apply(owner: BitnamiOwner, want: V1Secret): Promise<void> {
    try {
      const existing = await this.#d.api.getSecret(owner.namespace, owner.name);
      const p = planCompat(owner, existing, want);
      if (p.action === 'refuse') throw new SealboxError('REFUSED', p.message);
      if (p.action === 'immutable') throw new ImmutableTarget('REFUSED', p.message);
      if (p.action === 'create') await this.#create(owner, p.secret);
      if (p.action === 'update') await this.#d.api.replaceSecret(p.secret);
    } catch (err) {
      if (err instanceof ImmutableTarget || err instanceof CreateDeferred) throw err;
      throw new UpdateFailed(isSealboxError(err) ? err.code : 'KUBE', messageOf(err), { cause: err });
    }
  }

  async #create(owner: BitnamiOwner, secret: V1Secret): Promise<void> {
    const wait = this.#d.waitToCreate?.(`${owner.namespace}/${owner.name}`) ?? 0;
    if (wait > 0) throw new CreateDeferred('another writer deleted its secret of this name a moment ago; creating it later, unless that writer re-creates it', wait);
    await this.#d.api.createSecret(secret);
  }

  /**
   * Defers `namespace/name` while its namespace is over its budget, before
   * any API request (the GET of a SealedSecret may cost a megabyte): no
   * status or event, as for a SealedSecret still waiting in the queue.
   */
  #checkBudget(namespace: string, name: string): void {
    try {
      this.#d.budget?.check(namespace);
    } catch (err) {
      this.#d.metrics.reconciles.inc({ result: 'deferred' });
      this.#d.log.debug({ namespace, name, retryInMs: err instanceof OverBudget ? err.retryAfterMs : undefined }, 'sealedsecret (bitnami) unseal deferred: namespace over its unseal budget');
      throw err;
    }
  }

  /** Records a SealedSecret whose unseal ran out of its namespace's budget: a Warning event and `Synced=False`, no value. */
  async #deferred(obj: SealedSecretObject, err: OverBudget): Promise<void> {
    const { namespace, name } = obj.metadata ?? {};
    this.#d.metrics.reconciles.inc({ result: 'deferred' });
    this.#d.log.info({ namespace, name, retryInMs: err.retryAfterMs }, 'sealedsecret (bitnami) unseal deferred: namespace over its unseal budget');
    await this.#d.events.warning(obj, 'UnsealDeferred', err.message);
    await this.#setStatus(obj, err.message);
  }

  async #failed(obj: SealedSecretObject, err: unknown): Promise<void> {
    const message = messageOf(err);
    const { namespace, name } = obj.metadata ?? {};
    this.#d.metrics.reconciles.inc({ result: 'failed' });
    this.#d.log.warn({ namespace, name, err: message }, 'sealedsecret (bitnami) reconcile failed');
    if (err instanceof UpdateFailed) await this.#d.events.warning(obj, 'ErrUpdateFailed', message);
    else await this.#d.events.warning(obj, 'ErrUnsealFailed', `Failed to unseal: ${message}`);
    await this.#setStatus(obj, message);
  }

  async #setStatus(obj: SealedSecretObject, error: string | undefined): Promise<void> {
    const next = nextCompatStatus(obj, error, new Date());
    if (next === undefined) return;
    const { namespace = '', name = '' } = obj.metadata ?? {};
    try {
      await this.#d.api.patchBitnamiStatus(namespace, name, next as unknown as Record<string, unknown>);
    } catch (err) {
      this.#d.log.warn({ namespace, name, err: messageOf(err) }, 'status update failed');
    }
  }
}
