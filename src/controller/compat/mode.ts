/**
 * The compatibility mode (`--sealed-secrets-compat`): besides sealbox's own
 * resources, the controller reconciles Sealed Secrets' `bitnami.com/v1alpha1`
 * SealedSecrets with its sealing keys (imported ones included), through its
 * own informers and work queue. It watches every Secret's metadata, as Sealed
 * Secrets does, so a deleted Secret is re-created at once. Its cache keeps a
 * summary of each SealedSecret (cache.ts); reconcile takes the whole object
 * from the initial list (a ColdStart, bounded in count and bytes) or GETs it.
 */
import { DataKeyCache } from '../../crypto/key-cache.js';
import { BITNAMI_API_VERSION, BITNAMI_KIND, BITNAMI_MANAGED } from '../../format/bitnami.js';
import type { KubeApi } from '../../kube/api.js';
import type { SealedSecretObject, V1Secret } from '../../kube/types.js';
import { ColdStart } from '../cold-start.js';
import { EventRecorder } from '../events.js';
import type { KeyManager } from '../keys.js';
import type { ControllerOptions } from '../options.js';
import { Informers } from '../informers.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { WorkQueue } from '../queue.js';
import { sweepGroups } from '../sweep.js';
import { keyOf } from '../watches.js';
import { FOREIGN_DELETE_WINDOW_MS, ForeignDeletions, isForeignSecret, isOwnSecret } from './foreign.js';
import type { CompatSummary } from './cache.js';
import { COMPAT_COLD_START_BYTES, COMPAT_COLD_START_HOLD, fullSealed, summarizeBitnami } from './cache.js';
import { COMPAT_DATA_KEY_CACHE_SIZE, COMPAT_RSA_PER_NAMESPACE_PER_MINUTE, UnsealBudget } from './budget.js';
import { WorkingKeys } from './opener.js';
import { CompatReconciler } from './reconciler.js';

/** What the compatibility mode needs from the controller. */
export interface CompatModeOptions {
  /** The controller's options: workers, backoff, session-key cache size, events, RSA budget. */
  readonly o: Pick<ControllerOptions, 'workers' | 'maxBackoffMs' | 'compatDataKeyCacheSize' | 'events' | 'compatRsaPerNamespacePerMinute'>;
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
  // the API server's own (an etcd revision): a relist of an unchanged Secret is then no update (InformerCache)
  const version = typeof m.resourceVersion === 'string' && m.resourceVersion.length <= 64 ? { resourceVersion: m.resourceVersion } : {};
  return { metadata: { name: m.name ?? '', namespace: m.namespace ?? '', ...version, ...ownerReferences, ...managed } };
}

/** Sealed Secrets' SealedSecrets, reconciled by sealbox. */
export class CompatMode {
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #queue: WorkQueue;
  readonly #coldStart: ColdStart;
  readonly #sealed: Informers<CompatSummary>;
  readonly #secrets: Informers<V1Secret>;
  /** The uid and generation each SealedSecret was last enqueued at, by namespace/name. */
  readonly #generations = new Map<string, string>();
  readonly #foreign = new ForeignDeletions();
  #synced = false;
  #stopped = false;

  constructor(o: CompatModeOptions) {
    this.#api = o.api;
    this.#log = o.log;
    const reconciler = new CompatReconciler({
      api: o.api, log: o.log, metrics: o.metrics, working: new WorkingKeys(),
      events: new EventRecorder(o.api, o.log, o.identity, { types: o.o.events ?? 'all' }),
      keys: () => o.keys.keys, afterUnseal: () => { o.keys.countRsaOps(); },
      cache: new DataKeyCache(o.o.compatDataKeyCacheSize ?? COMPAT_DATA_KEY_CACHE_SIZE), getSealed: (ns, name) => this.#whole(ns, name),
      waitToCreate: (key) => this.#waitToCreate(key),
      budget: new UnsealBudget(o.o.compatRsaPerNamespacePerMinute ?? COMPAT_RSA_PER_NAMESPACE_PER_MINUTE),
    });
    // A held object of the initial list never outlives its work item.
    const queue = new WorkQueue((key) => reconciler.reconcile(key).finally(() => this.#coldStart.take(key)), { workers: o.o.workers, baseDelayMs: 1000, maxDelayMs: o.o.maxBackoffMs });
    this.#queue = queue;
    const coldStart = new ColdStart(COMPAT_COLD_START_HOLD, (key) => { queue.add(key); }, COMPAT_COLD_START_BYTES);
    this.#coldStart = coldStart;
    this.#sealed = new Informers({
      kind: 'sealedsecrets.bitnami.com', scopes: o.scopes, log: o.log,
      open: (ns) => o.api.bitnamiInformer(ns, summarizeBitnami, { onListed: (obj) => coldStart.offer(obj) }),
      onAdd: (obj) => { this.#specChanged(obj); if (!coldStart.claimAdded(keyOf(obj))) queue.add(keyOf(obj)); },
      onUpdate: (obj) => { if (this.#specChanged(obj)) queue.add(keyOf(obj)); },
      onDelete: (obj) => { this.#generations.delete(keyOf(obj)); queue.forget(keyOf(obj)); coldStart.take(keyOf(obj)); },
    });
    this.#secrets = new Informers({
      kind: 'secrets (sealed secrets compatibility)', scopes: o.scopes, log: o.log, open: (ns) => o.api.secretInformer('', ns, secretMeta),
      onDelete: (s) => { this.#secretDeleted(s); },
    });
  }

  /** The whole SealedSecret `namespace/name` as it is now, or undefined when it is gone (see fullSealed). */
  #whole(namespace: string, name: string): Promise<SealedSecretObject | undefined> {
    const listed = this.#coldStart.take(`${namespace}/${name}`);
    return fullSealed(this.#sealed.get(namespace, name), listed, () => this.#api.getBitnami(namespace, name));
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
  #specChanged(obj: CompatSummary): boolean {
    const key = keyOf(obj);
    const version = `${obj.metadata.uid}/${String(obj.metadata.generation)}`;
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
    if (sealed !== undefined && isOwnSecret(s, sealed.metadata.uid)) this.#queue.add(key);
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

  /**
   * Starts the informers; once synced, enqueues every SealedSecret. The
   * initial list waits on their first reconciles (ColdStart), so the
   * controller does not wait for this (readiness is sealbox's own).
   */
  async start(): Promise<void> {
    await Promise.all([this.#secrets.start(), this.#sealed.start()]);
    if (this.#stopped) return;
    this.#synced = true;
    this.#log.info({}, 'sealed secrets compatibility: informers synced; reconciling');
    this.enqueueAll(true);
  }

  /** Enqueues every SealedSecret (`now`: also cut short the backoff of failing ones, e.g. after a key change). */
  enqueueAll(now = false): void {
    if (!this.#synced) return;
    this.#queue.sweep(sweepGroups(this.#sealed.list()), now);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.stop();
    this.#coldStart.clear();
    await Promise.all([this.#sealed.stop(), this.#secrets.stop()]);
  }
}
