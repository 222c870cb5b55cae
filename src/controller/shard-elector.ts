/**
 * ShardElector: one Lease per shard, as LeaderElector holds one. Every retry
 * period a replica reads each shard's Lease, decides (decideRound in
 * shards.ts) and writes: create, acquire, renew, hand over, ask for, or
 * release. It stops writing for a shard before the Lease can pass to another
 * replica: before it hands the Lease over (after the shard's in-flight
 * reconciles finish), and when it has failed to renew it for the renew
 * deadline, as client-go's leader election does.
 */
import { microTime } from '../kube/api.js';
import { isKubeStatus } from '../kube/errors.js';
import type { V1Lease } from '../kube/types.js';
import type { LeaseApi } from './leader.js';
import type { Logger } from './log.js';
import type { LeaseView, ShardAction } from './shards.js';
import { SHARDS_ANNOTATION, WANTED_BY_ANNOTATION, decideRound, shardLeaseName } from './shards.js';

/** Options of ShardElector. */
export interface ShardElectorOptions {
  readonly api: LeaseApi;
  readonly namespace: string;
  /** Shard 0's Lease; shard s > 0 uses shardLeaseName(leaseName, s). */
  readonly leaseName: string;
  readonly shards: number;
  readonly identity: string;
  readonly preferred: number | undefined;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly log: Logger;
  /** This replica now holds `shard`: reconcile its resources. */
  readonly onGained: (shard: number) => void;
  /** This replica no longer holds `shard`: start no write for it from now on. */
  readonly onLost: (shard: number) => void;
  /** Resolves once no write for `shard` is in flight (called after onLost, before a hand-over). */
  readonly drain: (shard: number, timeoutMs: number) => Promise<void>;
}

const FAILED = Symbol('failed');

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function recordOf(lease: V1Lease): string {
  const spec = lease.spec ?? {};
  return `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${String(spec.leaseDurationSeconds ?? 0)}`;
}

/** Runs the shard Leases until stop(). */
export class ShardElector {
  readonly #o: ShardElectorOptions;
  readonly #held = new Set<number>();
  readonly #handingOver = new Set<number>();
  readonly #lastRenew: number[];
  readonly #observed: string[];
  readonly #observedAt: number[];
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  /** When start() ran: until a lease duration later, this replica claims only its own shard (decideRound). */
  #startedAt = 0;

  constructor(opts: ShardElectorOptions) {
    this.#o = opts;
    this.#lastRenew = new Array<number>(opts.shards).fill(0);
    this.#observed = new Array<string>(opts.shards).fill('');
    this.#observedAt = new Array<number>(opts.shards).fill(0);
  }

  /** The shards this replica holds now. */
  get held(): ReadonlySet<number> {
    return this.#held;
  }

  /**
   * Whether this replica may write for `shard` now: it holds it and renewed
   * its Lease within the renew deadline, measured now (after a stalled event
   * loop the round that notices the lapse may not have run yet).
   */
  holds(shard: number): boolean {
    return this.#held.has(shard) && Date.now() - (this.#lastRenew[shard] ?? 0) <= this.#o.renewDeadlineMs;
  }

  start(): void {
    this.#startedAt = Date.now();
    void this.#tick();
  }

  /** Stops; gives up every shard it holds so other replicas take them over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const held = [...this.#held];
    for (const s of held) this.#lose(s, 'stopping');
    await Promise.all(held.map((s) => this.#release(s)));
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#round();
    } catch (err) {
      this.#o.log.warn({ err: message(err) }, 'shard election round failed');
    }
    if (!this.#isStopped()) this.#timer = setTimeout(() => void this.#tick(), this.#o.retryPeriodMs);
  }

  /** Whether stop() was called (a method, so that TypeScript does not narrow it across an await). */
  #isStopped(): boolean {
    return this.#stopped;
  }

  async #round(): Promise<void> {
    const o = this.#o;
    const leases = await Promise.all(Array.from({ length: o.shards }, (_, s) => this.#get(s)));
    const now = Date.now();
    const views = leases.map((l, s) => (l === FAILED ? undefined : this.#view(s, l, now)));
    for (const s of [...this.#held]) {
      const v = views[s];
      if (v !== undefined && v.holder !== o.identity) this.#lose(s, 'taken by another replica');
    }
    const settled = now - this.#startedAt >= o.leaseDurationMs;
    const actions = decideRound({ me: o.identity, shards: o.shards, preferred: o.preferred, leases: views, settled });
    if (this.#isStopped()) return;
    await Promise.all(actions.map((a, s) => this.#apply(s, a, leases[s])));
    for (const s of [...this.#held]) {
      if (Date.now() - (this.#lastRenew[s] ?? 0) > o.renewDeadlineMs) this.#lose(s, 'could not renew its lease within the renew deadline');
    }
  }

  async #get(s: number): Promise<V1Lease | undefined | typeof FAILED> {
    try {
      return await this.#o.api.getLease(this.#o.namespace, shardLeaseName(this.#o.leaseName, s));
    } catch (err) {
      this.#o.log.warn({ shard: s, err: message(err) }, 'shard lease read failed');
      return FAILED;
    }
  }

  /** The Lease as this replica sees it; expiry is measured on its own clock, from when it last saw the Lease change. */
  #view(s: number, lease: V1Lease | undefined, now: number): LeaseView {
    if (lease === undefined) return { exists: false, holder: '', expired: true, wantedBy: '', shards: this.#o.shards };
    this.#observe(s, lease, now);
    const spec = lease.spec ?? {};
    const annotations = lease.metadata?.annotations ?? {};
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
    return {
      exists: true,
      holder,
      expired: holder === '' || now - (this.#observedAt[s] ?? 0) > duration,
      wantedBy: annotations[WANTED_BY_ANNOTATION] ?? '',
      shards: Number(annotations[SHARDS_ANNOTATION] ?? '1'),
    };
  }

  #observe(s: number, lease: V1Lease, now: number): void {
    const record = recordOf(lease);
    if (record !== this.#observed[s]) {
      this.#observed[s] = record;
      this.#observedAt[s] = now;
    }
  }

  async #apply(s: number, a: ShardAction, lease: V1Lease | undefined | typeof FAILED): Promise<void> {
    if (lease === FAILED || a.kind === 'wait' || this.#handingOver.has(s)) return;
    try {
      if (a.kind === 'create') await this.#write(s, this.#o.api.createLease(this.#lease(s, undefined, 'take')));
      else if (lease === undefined) return;
      else if (a.kind === 'acquire') await this.#write(s, this.#o.api.replaceLease(this.#lease(s, lease, 'take')));
      else if (a.kind === 'renew') await this.#write(s, this.#o.api.replaceLease(this.#lease(s, lease, 'renew')));
      else if (a.kind === 'want') await this.#want(s, lease);
      else if (a.kind === 'handover') this.#handOver(s, a.to);
      else {
        this.#lose(s, 'shard 0 is held by replicas with another shard count');
        await this.#release(s);
      }
    } catch (err) {
      if (!isKubeStatus(err, 409)) this.#o.log.warn({ shard: s, action: a.kind, err: message(err) }, 'shard lease write failed');
    }
  }

  /** Writes a Lease this replica now holds; a first success gains the shard. */
  async #write(s: number, write: Promise<V1Lease>): Promise<void> {
    const saved = await write;
    const now = Date.now();
    this.#observe(s, saved, now);
    this.#lastRenew[s] = now;
    if (this.#isStopped() || this.#held.has(s)) return;
    this.#held.add(s);
    this.#o.log.info({ shard: s, shards: this.#o.shards, identity: this.#o.identity }, 'shard acquired');
    this.#o.onGained(s);
  }

  /**
   * The Lease to write: held by `to` (default: this replica), renewed now;
   * `take` starts a new term (acquireTime, one more transition) and clears
   * any request for it, `renew` keeps both.
   */
  #lease(s: number, lease: V1Lease | undefined, mode: 'take' | 'renew', to = this.#o.identity): V1Lease {
    const now = new Date();
    const spec = lease?.spec ?? {};
    const kept = Object.entries(lease?.metadata?.annotations ?? {}).filter(([k]) => mode === 'renew' || k !== WANTED_BY_ANNOTATION);
    const annotations: Record<string, string> = { ...Object.fromEntries(kept), [SHARDS_ANNOTATION]: String(this.#o.shards) };
    const name = shardLeaseName(this.#o.leaseName, s);
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(lease?.metadata ?? {}), name, namespace: this.#o.namespace, annotations },
      spec: {
        holderIdentity: to,
        leaseDurationSeconds: Math.max(1, Math.round(this.#o.leaseDurationMs / 1000)),
        acquireTime: mode === 'renew' && spec.acquireTime !== undefined ? microTime(new Date(spec.acquireTime)) : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mode === 'take' && lease !== undefined ? 1 : 0),
      },
    };
  }

  async #want(s: number, lease: V1Lease): Promise<void> {
    const annotations = { ...(lease.metadata?.annotations ?? {}), [WANTED_BY_ANNOTATION]: this.#o.identity };
    const spec = lease.spec ?? {};
    await this.#o.api.replaceLease({
      ...lease,
      metadata: { ...lease.metadata, annotations },
      spec: { ...spec, acquireTime: spec.acquireTime === undefined ? undefined : microTime(new Date(spec.acquireTime)), renewTime: spec.renewTime === undefined ? undefined : microTime(new Date(spec.renewTime)) },
    });
    this.#o.log.info({ shard: s, holder: spec.holderIdentity, identity: this.#o.identity }, 'asked for shard');
  }

  /**
   * Hands shard `s` to `to`: stops writing for it, waits (at most until the
   * renew deadline) for its in-flight reconciles, then writes `to` as the
   * holder, unless the Lease changed meanwhile. A failed hand-over leaves the
   * Lease this replica's: the next round renews it and takes the shard back.
   */
  #handOver(s: number, to: string): void {
    this.#lose(s, `handing over to ${to}`);
    this.#handingOver.add(s);
    const budget = Math.max(0, this.#o.renewDeadlineMs - (Date.now() - (this.#lastRenew[s] ?? 0)));
    void (async () => {
      try {
        await this.#o.drain(s, budget);
        const lease = await this.#o.api.getLease(this.#o.namespace, shardLeaseName(this.#o.leaseName, s));
        const annotations = lease?.metadata?.annotations ?? {};
        if (lease === undefined || lease.spec?.holderIdentity !== this.#o.identity || annotations[WANTED_BY_ANNOTATION] !== to) return;
        this.#observe(s, await this.#o.api.replaceLease(this.#lease(s, lease, 'take', to)), Date.now());
        this.#o.log.info({ shard: s, to, identity: this.#o.identity }, 'shard handed over');
      } catch (err) {
        this.#o.log.warn({ shard: s, to, err: message(err) }, 'shard hand-over failed; keeping the shard');
      } finally {
        this.#handingOver.delete(s);
      }
    })();
  }

  #lose(s: number, why: string): void {
    if (!this.#held.delete(s)) return;
    this.#o.log.info({ shard: s, shards: this.#o.shards, identity: this.#o.identity, why }, 'shard released');
    this.#o.onLost(s);
  }

  /** Gives the Lease up if this replica still holds it (best effort: otherwise it expires). */
  async #release(s: number): Promise<void> {
    try {
      const lease = await this.#o.api.getLease(this.#o.namespace, shardLeaseName(this.#o.leaseName, s));
      if (lease?.spec?.holderIdentity !== this.#o.identity) return;
      const spec = lease.spec;
      await this.#o.api.replaceLease({ ...lease, spec: { ...spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: microTime(new Date()), acquireTime: spec.acquireTime === undefined ? undefined : microTime(new Date(spec.acquireTime)) } });
    } catch {
      // best effort: the lease expires by itself
    }
  }
}
