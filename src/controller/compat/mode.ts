/**
 * The compatibility mode (`--sealed-secrets-compat`): besides sealbox's own
 * resources, the controller reconciles Sealed Secrets' `bitnami.com/v1alpha1`
 * SealedSecrets with its sealing keys (imported ones included), through its
 * own informers and work queue. It watches every Secret's metadata, as Sealed
 * Secrets does, so a deleted Secret is re-created at once.
 */
import { DataKeyCache } from '../../crypto/key-cache.js';
import { BITNAMI_API_VERSION, BITNAMI_KIND, BITNAMI_MANAGED } from '../../format/bitnami.js';
import type { KubeApi } from '../../kube/api.js';
import type { SealedSecretObject, V1Secret } from '../../kube/types.js';
import { EventRecorder } from '../events.js';
import type { KeyManager } from '../keys.js';
import type { ControllerOptions } from '../options.js';
import { Informers } from '../informers.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { WorkQueue } from '../queue.js';
import { FOREIGN_DELETE_WINDOW_MS, ForeignDeletions, isForeignSecret, isOwnSecret } from './foreign.js';
import { WorkingKeys } from './opener.js';
import { CompatReconciler } from './reconciler.js';

/** What the compatibility mode needs from the controller. */
export interface CompatModeOptions {
  /** The controller's options: workers, backoff, cache size, events. */
  readonly o: Pick<ControllerOptions, 'workers' | 'maxBackoffMs' | 'dataKeyCacheSize' | 'events'>;
  readonly api: KubeApi;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The controller's identity, as Events name their reporting instance. */
  readonly identity: string;
  /** Namespaces to watch (`undefined`: the whole cluster). */
  readonly scopes: readonly (string | undefined)[];
  /** The sealing keys (all of them are tried) and their RSA counters. */
  readonly keys: Pick<KeyManager, 'keys' | 'countRsaOps'>;
}

function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Longest uid kept: the API server's are 36 characters, but any string is accepted in an owner reference. */
const MAX_UID = 64;

/**
 * A Secret as the deletion watch keeps it, for every Secret of the cluster:
 * what the re-creation check reads and nothing more, so its size does not
 * depend on what a tenant writes (a Secret's owner references can hold a
 * megabyte): its name, namespace, a bitnami SealedSecret controller
 * reference (kind, apiVersion, uid) and the managed annotation when "true".
 */
export function secretMeta(s: V1Secret): V1Secret {
  const m = s.metadata ?? {};
  const ref = (m.ownerReferences ?? []).find((r) => r.controller === true && r.kind === BITNAMI_KIND && r.apiVersion === BITNAMI_API_VERSION && r.uid.length <= MAX_UID);
  const ownerReferences = ref === undefined ? {} : { ownerReferences: [{ apiVersion: BITNAMI_API_VERSION, kind: BITNAMI_KIND, name: '', uid: ref.uid, controller: true }] };
  const managed = m.annotations?.[BITNAMI_MANAGED] === 'true' ? { annotations: { [BITNAMI_MANAGED]: 'true' } } : {};
  return { metadata: { name: m.name ?? '', namespace: m.namespace ?? '', ...ownerReferences, ...managed } };
}

/** Sealed Secrets' SealedSecrets, reconciled by sealbox. */
export class CompatMode {
  readonly #queue: WorkQueue;
  readonly #sealed: Informers<SealedSecretObject>;
  readonly #secrets: Informers<V1Secret>;
  /** The uid and generation each SealedSecret was last enqueued at, by namespace/name. */
  readonly #generations = new Map<string, string>();
  readonly #foreign = new ForeignDeletions();
  #synced = false;

  constructor(o: CompatModeOptions) {
    const reconciler = new CompatReconciler({
      api: o.api, log: o.log, metrics: o.metrics, working: new WorkingKeys(),
      events: new EventRecorder(o.api, o.log, o.identity, { types: o.o.events ?? 'all' }),
      keys: () => o.keys.keys, afterUnseal: () => { o.keys.countRsaOps(); },
      cache: new DataKeyCache(o.o.dataKeyCacheSize), getSealed: (ns, name) => this.#sealed.get(ns, name),
      waitToCreate: (key) => this.#waitToCreate(key),
    });
    const queue = new WorkQueue((key) => reconciler.reconcile(key), { workers: o.o.workers, baseDelayMs: 1000, maxDelayMs: o.o.maxBackoffMs });
    this.#queue = queue;
    this.#sealed = new Informers({
      kind: 'sealedsecrets.bitnami.com', scopes: o.scopes, log: o.log, open: (ns) => o.api.bitnamiInformer(ns),
      onAdd: (obj) => { this.#specChanged(obj); queue.add(keyOf(obj)); },
      onUpdate: (obj) => { if (this.#specChanged(obj)) queue.add(keyOf(obj)); },
      onDelete: (obj) => { this.#generations.delete(keyOf(obj)); queue.forget(keyOf(obj)); },
    });
    this.#secrets = new Informers({
      kind: 'secrets (sealed secrets compatibility)', scopes: o.scopes, log: o.log, open: (ns) => o.api.secretInformer('', ns, secretMeta),
      onDelete: (s) => { this.#secretDeleted(s); },
    });
  }

  /**
   * True when `obj` is new or its spec changed since it was last seen (its
   * uid or generation moved; the CRD has a status subresource, so status and metadata edits
   * leave it alone), and remembers it. As Sealed Secrets' update handler
   * ("update suppressed, no changes in spec"), other updates enqueue
   * nothing: the status the reconciler writes after a failure must not
   * cut short that failure's backoff, or a Secret another writer has just
   * deleted is created at once (the suite's "unowned secret ... should not
   * recreate the secret").
   */
  #specChanged(obj: SealedSecretObject): boolean {
    const key = keyOf(obj);
    const version = `${obj.metadata?.uid ?? ''}/${String(obj.metadata?.generation ?? 0)}`;
    if (this.#generations.get(key) === version) return false;
    this.#generations.set(key, version);
    return true;
  }

  /**
   * Re-creates a deleted Secret that a SealedSecret controls, or that was
   * annotated managed; leaves another writer's name to it for a moment (ForeignDeletions).
   */
  #secretDeleted(s: V1Secret): void {
    const key = keyOf(s);
    if (isForeignSecret(s)) this.#foreign.deleted(key);
    const sealed = this.#sealed.get(s.metadata?.namespace ?? '', s.metadata?.name ?? '');
    if (sealed !== undefined && isOwnSecret(s, sealed.metadata?.uid)) this.#queue.add(key);
  }

  /**
   * How long a SealedSecret must wait before creating its Secret `key`:
   * while another writer's Secret of that name was deleted a moment ago,
   * or is still in the watch's cache (the API server says it is gone, the
   * watch has not said so yet).
   */
  #waitToCreate(key: string): number {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.#secrets.get(namespace, name);
    if (cached !== undefined && isForeignSecret(cached)) return FOREIGN_DELETE_WINDOW_MS;
    return this.#foreign.waitFor(key);
  }

  /** Starts the informers; once synced, enqueues every SealedSecret. */
  async start(): Promise<void> {
    await Promise.all([this.#secrets.start(), this.#sealed.start()]);
    this.#synced = true;
    this.enqueueAll(true);
  }

  /** Enqueues every SealedSecret (`now`: also cut short the backoff of failing ones, e.g. after a key change). */
  enqueueAll(now = false): void {
    if (!this.#synced) return;
    for (const obj of this.#sealed.list()) {
      if (now) this.#queue.add(keyOf(obj));
      else this.#queue.resync(keyOf(obj));
    }
  }

  async stop(): Promise<void> {
    this.#queue.stop();
    await Promise.all([this.#sealed.stop(), this.#secrets.stop()]);
  }
}
