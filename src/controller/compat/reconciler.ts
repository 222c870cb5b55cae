/**
 * Reconciles one Sealed Secrets SealedSecret in compatibility mode
 * (`--sealed-secrets-compat`): unseal (every key tried, the working one
 * remembered) → planCompat → apply, then the `Synced` status and the events
 * Sealed Secrets records: `Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed`.
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
  /** SealedSecret from the informer cache. */
  readonly getSealed: (namespace: string, name: string) => SealedSecretObject | undefined;
  /** Every sealing key, in the order to try them. */
  readonly keys: () => readonly OpenerKey[];
  readonly cache: DataKeyCache;
  readonly working: WorkingKeys;
  /** Called after unsealing, to move RSA counters into metrics. */
  readonly afterUnseal?: () => void;
}

function ownerOf(obj: SealedSecretObject, namespace: string): BitnamiOwner {
  const meta = obj.metadata ?? {};
  return { apiVersion: BITNAMI_API_VERSION, kind: BITNAMI_KIND, namespace, name: meta.name ?? '', uid: meta.uid ?? '' };
}

/** A failed write, recorded as ErrUpdateFailed (not as an unseal failure). */
class UpdateFailed extends SealboxError {}

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
    const obj = this.#d.getSealed(namespace, name);
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
      await this.#failed(obj, err);
      throw err;
    }
    await this.#setStatus(obj, undefined);
    await this.#d.events.normal(obj, 'Unsealed', 'SealedSecret unsealed successfully');
  }

  async #unseal(key: string, obj: SealedSecretObject, namespace: string): Promise<V1Secret> {
    const what = `sealedsecret "${key}"`;
    try {
      const sealed = parseBitnamiSealed({ ...obj, metadata: { ...obj.metadata, namespace } }, what);
      const open = bitnamiOpener(key, this.#d.keys(), this.#d.working, this.#d.cache);
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
      if (p.action === 'create') await this.#d.api.createSecret(p.secret);
      if (p.action === 'update') await this.#d.api.replaceSecret(p.secret);
    } catch (err) {
      throw new UpdateFailed(isSealboxError(err) ? err.code : 'KUBE', messageOf(err), { cause: err });
    }
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
