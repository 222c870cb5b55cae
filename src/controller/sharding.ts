/**
 * Sharding: what a replica does as it gains and loses shards (--shards
 * above 1). It holds the ShardElector and the ShardGate, reports the shards
 * held in metrics, and leads key management while it holds shard 0; the
 * Controller says how to maintain keys, start reconciling and enqueue a shard.
 */
import type { KubeApi } from '../kube/api.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { ControllerOptions } from './options.js';
import { ShardElector } from './shard-elector.js';
import { KEY_SHARD, ShardGate, preferredShard } from './shards.js';

/** What Sharding asks of the Controller. */
export interface ShardingHooks {
  /** One round of key maintenance (never rejects). */
  readonly maintainKeys: () => Promise<void>;
  /** The first shard is held: start the informers and reconcile what this replica holds. */
  readonly startReconciling: () => void;
  /** One more shard is held: reconcile its resources now. */
  readonly enqueueShard: (shard: number) => void;
}

/** The parts of the Controller Sharding uses. */
export interface ShardingDeps {
  readonly api: Pick<KubeApi, 'getLease' | 'createLease' | 'replaceLease'>;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly identity: string;
  readonly shards: number;
}

/** A replica's shards: election, gate, metrics and key-management lead. */
export class Sharding {
  readonly elector: ShardElector;
  readonly gate: ShardGate;
  readonly #o: ControllerOptions;
  readonly #d: ShardingDeps;
  readonly #hooks: ShardingHooks;
  #keyTimer: NodeJS.Timeout | undefined;
  /** The key maintenance running, if any. */
  #maintaining: Promise<void> | undefined;
  #reconciling = false;
  #stopped = false;

  constructor(o: ControllerOptions, d: ShardingDeps, hooks: ShardingHooks) {
    this.#o = o;
    this.#d = d;
    this.#hooks = hooks;
    d.metrics.shards.set(d.shards);
    for (let s = 0; s < d.shards; s++) d.metrics.shardHeld.set({ shard: String(s) }, 0);
    this.elector = new ShardElector({
      api: d.api, namespace: o.namespace, leaseName: o.leaseName, shards: d.shards, identity: d.identity, log: d.log,
      preferred: preferredShard(d.identity, d.shards, o.shard),
      leaseDurationMs: o.leaseDurationMs, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs,
      onGained: (s) => { this.#gain(s); },
      onLost: (s) => { this.#lose(s); },
      drain: (s, timeoutMs) => this.#drain(s, timeoutMs),
    });
    this.gate = new ShardGate(d.shards, (s) => this.elector.holds(s));
  }

  /** Whether this replica leads key management: it holds shard 0 and renewed its Lease within the renew deadline. */
  get leadsKeys(): boolean {
    return this.elector.holds(KEY_SHARD);
  }

  /** Whether this replica holds any shard. */
  get holdsAny(): boolean {
    return this.elector.held.size > 0;
  }

  start(): void {
    this.elector.start();
  }

  /** Stops key maintenance and gives up every shard held. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#keyTimer);
    await this.elector.stop();
  }

  #gain(s: number): void {
    this.#d.metrics.shardHeld.set({ shard: String(s) }, 1);
    if (s === KEY_SHARD) this.#leadKeys();
    if (this.#reconciling) {
      this.#hooks.enqueueShard(s);
      return;
    }
    this.#reconciling = true;
    this.#hooks.startReconciling();
  }

  /** Key maintenance now and every --key-check-interval, until shard 0 is lost. */
  #leadKeys(): void {
    this.#d.metrics.leader.set(1);
    this.#maintainKeys();
    clearInterval(this.#keyTimer);
    if (!this.#stopped) this.#keyTimer = setInterval(() => { this.#maintainKeys(); }, this.#o.keyCheckIntervalMs);
  }

  #maintainKeys(): void {
    const run = this.#hooks.maintainKeys();
    this.#maintaining = run;
    void run.finally(() => { if (this.#maintaining === run) this.#maintaining = undefined; });
  }

  /**
   * Resolves once no reconcile of `shard` runs and, for shard 0, no key
   * maintenance either (a key being generated when shard 0 changes hands
   * would race the new holder's), or after `timeoutMs`.
   */
  async #drain(shard: number, timeoutMs: number): Promise<void> {
    const maintaining = shard === KEY_SHARD ? this.#maintaining : undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); });
    await Promise.race([Promise.all([this.gate.drain(shard, timeoutMs), maintaining]), timeout]);
    clearTimeout(timer);
  }

  #lose(s: number): void {
    this.#d.metrics.shardHeld.set({ shard: String(s) }, 0);
    if (s !== KEY_SHARD) return;
    this.#d.metrics.leader.set(0);
    clearInterval(this.#keyTimer);
    this.#keyTimer = undefined;
  }
}
