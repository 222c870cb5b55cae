/**
 * The controller (Controller): key manager and HTTP server on every replica;
 * informers, work queue and reconciler only on the leader.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper } from '../crypto/types.js';
import { DEFAULT_KMS_TIMEOUT_MS } from '../keys/kms-common.js';
import { withKmsDeadline } from '../keys/kms-deadline.js';
import { SealboxError } from '../errors.js';
import { EventRecorder } from './events.js';
import { CompatMode } from './compat/mode.js';
import { FIGHT_DEFAULTS, FightDetector } from './fights.js';
import type { SealingKey } from './keys.js';
import { KeyManager } from './keys.js';
import { KubeApi } from '../kube/api.js';
import { loadKubeConfig } from '../kube/config.js';
import { LeaderElector } from './leader.js';
import { Sharding } from './sharding.js';
import { ShardGate, shardOf } from './shards.js';
import { LogLimiter, SYNC_TALLY_MS, SyncTally, createLogger } from './log.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { WorkQueue } from './queue.js';
import { sweepGroups } from './sweep.js';
import { ColdStart } from './cold-start.js';
import type { SealedSummary } from './sealed-cache.js';
import type { SecretSummary } from './secret-cache.js';
import type { Informers } from './informers.js';
import { relistReporter } from './informers.js';
import { sealedWatch, secretWatch } from './watches.js';
import { startServer } from './server.js';
import { type ControllerOptions, type RunningController, checkShards, kmsUnwrappers } from './options.js';

export type { ControllerOptions, RunningController } from './options.js';

/** The reconcile results that wrote a Secret, as the `secrets synced` line counts them. */
const WRITTEN: ReadonlySet<string> = new Set(['created', 'updated', 'recreated']);

/**
 * Whole sealed resources held for their first reconcile (ColdStart): the
 * initial list waits while more than half of these are held. Typical ones
 * are a few KiB each.
 */
const COLD_START_HOLD = 1000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The controller: key manager and HTTP server on every replica; informers,
 * work queue and reconciler only on the leader (or at once, without leader
 * election), or, with shards, on every replica that holds a shard, for the
 * namespaces of its shards; the holder of shard 0 leads key management.
 * Throws SealboxError('INPUT') for a shard count or shard that cannot be
 * used. Every part is built by the constructor, which does no IO;
 * start() starts them, stop() stops them and every timer they own.
 */
export class Controller implements RunningController {
  readonly log: Logger;
  readonly #o: ControllerOptions;
  readonly #metrics = new Metrics();
  readonly #api: KubeApi;
  readonly #extraUnwrappers: readonly KeyUnwrapper[];
  /** Each reconcile and each re-wrap request spends at most this long on KMS calls. */
  readonly #kmsBudget: number;
  readonly #logLimit = new LogLimiter();
  readonly #tally: SyncTally;
  readonly #keys: KeyManager;
  readonly #queue: WorkQueue;
  readonly #sealed: Informers<SealedSummary>;
  readonly #secrets: Informers<SecretSummary>;
  readonly #coldStart: ColdStart;
  readonly #elector: LeaderElector | Sharding;
  /** Lets through the work of the shards this replica holds (every key without --shards). */
  readonly #gate: ShardGate;
  readonly #compat: CompatMode | undefined; // --sealed-secrets-compat
  readonly #timers: NodeJS.Timeout[] = [];
  #server: Server | undefined;
  #synced = false;
  #stopped = false;

  constructor(o: ControllerOptions) {
    this.#o = o;
    this.log = createLogger(o.logLevel);
    this.#tally = new SyncTally(this.log);
    const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    this.#api = new KubeApi(loadKubeConfig(o.kubeconfig), {
      qps: o.qps, burst: o.burst, onRequest: (verb, resource) => this.#metrics.apiRequests.inc({ verb, resource }), onExpired: relistReporter(this.log, this.#metrics.relists),
    });
    this.#extraUnwrappers = [...(o.extraUnwrappers ?? []), ...kmsUnwrappers(o, this.#metrics, this.log)];
    this.#kmsBudget = 2 * (o.kmsTimeoutMs ?? DEFAULT_KMS_TIMEOUT_MS);
    this.#keys = new KeyManager({ api: this.#api, namespace: o.namespace, rotationPeriodMs: o.keyRotationPeriodMs, keyBits: o.keyBits, log: this.log, metrics: this.#metrics, compatLabels: o.sealedSecretsCompat === true, onChange: () => { this.#enqueueAll(true); }, mayWrite: () => !(this.#elector instanceof Sharding) || this.#elector.leadsKeys });
    const shards = checkShards(o);
    const elector = shards > 1 ? this.#newSharding(identity, shards) : this.#newElector(identity);
    this.#gate = elector instanceof Sharding ? elector.gate : new ShardGate(1, () => true);
    const coldStart = new ColdStart(COLD_START_HOLD, (key) => { this.#queue.add(key); });
    this.#coldStart = coldStart;
    this.#queue = this.#newQueue(this.#newReconciler(identity, shards));
    const watch = { api: this.#api, scopes: o.watchNamespaces.length === 0 ? [undefined] : o.watchNamespaces, log: this.log, queue: this.#queue };
    this.#sealed = sealedWatch(watch, coldStart, (ns) => this.#gate.owns(ns), (ns, name) => this.#secrets.get(ns, name)?.metadata.name); // shared names
    this.#secrets = secretWatch(watch, (ns, name) => this.#sealed.get(ns, name)?.metadata.name);
    this.#elector = elector;
    this.#compat = o.sealedSecretsCompat === true ? new CompatMode({ o, api: this.#api, log: this.log, metrics: this.#metrics, identity, scopes: watch.scopes, keys: this.#keys }) : undefined;
  }

  #newReconciler(identity: string, shards: number): Reconciler {
    const o = this.#o;
    const keys = (): readonly SealingKey[] => this.#keys.keys;
    return new Reconciler({
      api: this.#api, metrics: this.#metrics, log: this.log, logLimit: this.#logLimit,
      events: new EventRecorder(this.#api, this.log, identity, { types: o.events ?? 'all', onDedupeBytes: (bytes) => this.#metrics.eventDedupeBytes.set(bytes) }),
      cache: new DataKeyCache(o.dataKeyCacheSize),
      getSealed: (ns, name) => this.#sealed.get(ns, name),
      getCachedSecret: (ns, name) => this.#secrets.get(ns, name),
      takeListed: (key) => this.#coldStart.take(key),
      unwrappers: () => withKmsDeadline([...keys().map((k) => k.identity), ...this.#extraUnwrappers], this.#kmsBudget),
      fingerprints: () => new Set(keys().map((k) => k.fingerprint)),
      afterUnseal: () => { this.#keys.countRsaOps(); },
      fights: new FightDetector({ ...FIGHT_DEFAULTS, maxReverts: o.fightLimit ?? FIGHT_DEFAULTS.maxReverts }),
      ...(shards > 1 ? { shardNote: (ns: string) => ` (shard ${String(shardOf(ns, shards))} of ${String(shards)})`, mayWrite: (ns: string) => this.#gate.owns(ns) } : {}),
    });
  }

  #newQueue(reconciler: Reconciler): WorkQueue {
    // A held object of the initial list never outlives its work item: a key
    // whose shard this replica does not hold (or no longer) is skipped, and
    // its object must not stay held (nor keep the list waiting).
    return new WorkQueue((key) => this.#gate.run(key, () => reconciler.reconcile(key)).finally(() => this.#coldStart.take(key)), {
      workers: this.#o.workers,
      baseDelayMs: 1000,
      maxDelayMs: this.#o.maxBackoffMs,
      onRetry: (key, _err, attempt, delayMs) => {
        const suppressed = this.#logLimit.allow(`retry\0${key}`);
        if (suppressed !== undefined) this.log.debug({ key, attempt, delayMs, suppressed }, 'retry scheduled');
      },
      onDepth: (size) => this.#metrics.queueDepth.set(size),
    });
  }

  #newElector(identity: string): LeaderElector {
    const o = this.#o;
    return new LeaderElector({
      api: this.#api, namespace: o.namespace, name: o.leaseName, identity, log: this.log,
      leaseDurationMs: o.leaseDurationMs, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs,
      onStartedLeading: () => { this.#lead(); },
      onStoppedLeading: () => {
        this.#metrics.leader.set(0);
        this.#queue.stop();
        o.onFatal?.();
      },
    });
  }

  #newSharding(identity: string, shards: number): Sharding {
    return new Sharding(this.#o, { api: this.#api, log: this.log, metrics: this.#metrics, identity, shards }, {
      maintainKeys: () => this.#maintainKeys(),
      startReconciling: () => { this.#lead(this.#startReconciling()); },
      enqueueShard: (s) => { this.#enqueueAll(true, s); },
    });
  }

  /** Whether this replica reconciles (or is starting to): it leads, or holds a shard. */
  #leading(): boolean {
    return this.#elector instanceof Sharding ? this.#elector.holdsAny : this.#elector.isLeader;
  }

  /** The HTTP server; throws before start() has resolved. */
  get server(): Server {
    if (this.#server === undefined) throw new SealboxError('INTERNAL', 'the controller has not started: its http server is not listening yet');
    return this.#server;
  }

  /**
   * Loads the keys, starts the HTTP server, then leads at once or runs for
   * leadership. Resolves once the server listens: reconciling starts in the
   * background, and a failure there is logged ("could not start reconciling")
   * and reported through onFatal, with or without leader election. When
   * start() itself fails, what it started is stopped again before it rejects.
   */
  async start(): Promise<void> {
    try {
      await this.#keys.start();
      this.#server = await startServer({
        listen: this.#o.listen, keys: this.#keys, metrics: this.#metrics, log: this.log,
        extraUnwrappers: () => withKmsDeadline(this.#extraUnwrappers, this.#kmsBudget),
        ready: () => this.#keys.keys.length > 0 && (!this.#leading() || this.#synced), sealedSecretsCompat: this.#o.sealedSecretsCompat === true,
        liveBitnami: this.#compat === undefined ? undefined : (ns, name) => this.#api.getBitnami(ns, name),
      });
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.#o.leaderElect) this.#elector.start();
    else this.#lead();
  }

  /** Starts reconciling (by default as the leader); never rejects: a failure goes to the log and onFatal. */
  #lead(starting: Promise<void> = this.#startLeading()): void {
    starting.catch((err: unknown) => {
      this.log.error({ err: message(err) }, 'could not start reconciling');
      this.#o.onFatal?.();
    });
  }

  async #startLeading(): Promise<void> {
    this.#metrics.leader.set(1);
    await this.#maintainKeys();
    this.#every(this.#o.keyCheckIntervalMs, () => void this.#maintainKeys());
    await this.#startReconciling();
  }

  /** Starts the informers (compat's beside, not waited for); once sealbox's own are synced (ready), enqueues every resource this replica reconciles. */
  async #startReconciling(): Promise<void> {
    if (this.#isStopped()) return;
    // compat's list waits on its reconciles (ColdStart): a tenant's costly bitnami
    // SealedSecrets must delay neither sealbox's resources nor readiness (SECURITY.md 1a.8)
    if (this.#compat !== undefined) this.#lead(this.#compat.start());
    // Secrets first: a sealed resource reconciled while its list is still
    // coming compares with a complete Secret cache, not an empty one.
    await this.#secrets.start();
    if (this.#isStopped()) return;
    await this.#sealed.start();
    if (this.#isStopped()) return;
    this.#synced = true;
    this.log.info({ namespaces: this.#o.watchNamespaces.length === 0 ? 'all' : this.#o.watchNamespaces }, 'informers synced; reconciling');
    this.#enqueueAll(true);
    this.#every(this.#o.resyncPeriodMs, () => { this.#enqueueAll(); });
    this.#every(SYNC_TALLY_MS, () => void this.#reportSynced());
  }

  /** Logs the Secrets written since the last report (SyncTally), from the reconcile counters. */
  async #reportSynced(): Promise<void> {
    const written = (await this.#metrics.reconciles.get()).values.filter((v) => WRITTEN.has(String(v.labels.result)));
    this.#tally.report(new Map(written.map((v) => [String(v.labels.result), v.value])));
  }

  async #maintainKeys(): Promise<void> {
    try {
      await this.#keys.maintain();
    } catch (err) {
      this.log.warn({ err: message(err) }, 'key maintenance failed');
    }
  }

  /** Whether stop() was called (a method, so that TypeScript does not narrow it across an await). */
  #isStopped(): boolean {
    return this.#stopped;
  }

  /** Runs `fn` every `ms` until stop(). */
  #every(ms: number, fn: () => void): void {
    if (!this.#stopped) this.#timers.push(setInterval(fn, ms));
  }

  /**
   * Enqueues every sealed resource this replica reconciles (of `shard` only,
   * when given); `now` also cuts short the backoff of failing ones (a new
   * key may fix them).
   */
  #enqueueAll(now = false, shard?: number): void {
    if (!this.#synced) return;
    this.#compat?.enqueueAll(now);
    const shards = this.#o.shards ?? 1;
    const mine = (ns: string): boolean => (shard === undefined ? this.#gate.owns(ns) : shardOf(ns, shards) === shard);
    this.#queue.sweep(sweepGroups(this.#sealed.list(), mine, shard === undefined ? () => true : mine), now);
  }

  /** Stops reconciling, gives up the lease, stops the watches and closes the HTTP server. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.stop();
    for (const t of this.#timers) clearInterval(t);
    await this.#reportSynced();
    await this.#elector.stop();
    this.#coldStart.clear();
    await Promise.all([this.#sealed.stop(), this.#secrets.stop(), this.#compat?.stop()]);
    await this.#keys.stop();
    const server = this.#server;
    if (server === undefined) return;
    await new Promise<void>((r) => {
      server.close(() => { r(); });
      server.closeAllConnections();
    });
  }
}

/** Starts a Controller; resolves once the HTTP server listens and keys are being watched. */
export async function runController(o: ControllerOptions): Promise<RunningController> {
  const controller = new Controller(o);
  await controller.start();
  return controller;
}
