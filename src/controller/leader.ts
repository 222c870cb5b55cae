/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go does it:
 * the holder renews the Lease every retry period; another replica takes over
 * when it has seen no renewal for a whole lease duration, measured on its own
 * clock. A conflicting write (409) simply loses the round.
 */
import type { KubeApi } from '../kube/api.js';
import { microTime } from '../kube/api.js';
import { isKubeStatus } from '../kube/errors.js';
import type { V1Lease } from '../kube/types.js';
import type { Logger } from './log.js';
import { SHARDS_ANNOTATION, WANTED_BY_ANNOTATION } from './shards.js';

/**
 * The Lease's metadata without the annotations of sharded replicas: a leader
 * without shards says so (no sealbox.dev/shards means 1), so that sharded
 * replicas of a rollout that changes --shards wait for it (shards.ts).
 */
function unsharded(meta: V1Lease['metadata']): V1Lease['metadata'] {
  const annotations = meta?.annotations;
  if (annotations === undefined || (!(SHARDS_ANNOTATION in annotations) && !(WANTED_BY_ANNOTATION in annotations))) return meta;
  const rest = Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== SHARDS_ANNOTATION && k !== WANTED_BY_ANNOTATION));
  return { ...meta, annotations: rest };
}

/** The Lease calls LeaderElector makes (KubeApi's). */
export type LeaseApi = Pick<KubeApi, 'getLease' | 'createLease' | 'replaceLease'>;

/** Options of LeaderElector. */
export interface LeaderOptions {
  readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

/** Runs leader election until stop(). */
export class LeaderElector {
  readonly #o: LeaderOptions;
  #leading = false;
  #stopped = false;
  #observed = '';
  #observedAt = 0;
  #lastRenew = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: LeaderOptions) {
    this.#o = opts;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  /** Stops; a leader gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#o.api.getLease(this.#o.namespace, this.#o.name);
      if (lease?.spec?.holderIdentity === this.#o.identity) {
        await this.#o.api.replaceLease({ ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: microTime(new Date()), acquireTime: lease.spec.acquireTime === undefined ? undefined : microTime(new Date(lease.spec.acquireTime)) } });
      }
    } catch {
      // best effort: the lease expires by itself
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      if (!isKubeStatus(err, 409)) this.#o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election round failed');
    }
    const now = Date.now();
    if (ok) {
      this.#lastRenew = now;
      if (!this.#leading) {
        this.#leading = true;
        this.#o.log.info({ identity: this.#o.identity }, 'became leader');
        this.#o.onStartedLeading();
      }
    } else if (this.#leading && now - this.#lastRenew > this.#o.renewDeadlineMs) {
      this.#leading = false;
      this.#o.log.warn({ identity: this.#o.identity }, 'lost leadership');
      this.#o.onStoppedLeading();
    }
    this.#timer = setTimeout(() => void this.#tick(), this.#o.retryPeriodMs);
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const durationSec = Math.max(1, Math.round(this.#o.leaseDurationMs / 1000));
    const lease = await this.#o.api.getLease(this.#o.namespace, this.#o.name);
    if (lease === undefined) {
      await this.#o.api.createLease({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#o.name, namespace: this.#o.namespace },
        spec: { holderIdentity: this.#o.identity, leaseDurationSeconds: durationSec, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${spec.leaseDurationSeconds ?? 0}`;
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = now.getTime();
    }
    const holder = spec.holderIdentity ?? '';
    const heldByMe = holder === this.#o.identity;
    const observedDuration = (spec.leaseDurationSeconds ?? durationSec) * 1000;
    const expired = holder === '' || now.getTime() - this.#observedAt > observedDuration;
    if (!heldByMe && !expired) return false;
    const next: V1Lease = {
      ...lease,
      metadata: unsharded(lease.metadata),
      spec: {
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: durationSec,
        acquireTime: heldByMe && spec.acquireTime !== undefined ? microTime(new Date(spec.acquireTime)) : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (heldByMe ? 0 : 1),
      },
    };
    const saved = await this.#o.api.replaceLease(next);
    this.#observed = `${saved.spec?.holderIdentity ?? ''}|${String(saved.spec?.renewTime ?? '')}|${saved.spec?.leaseDurationSeconds ?? 0}`;
    this.#observedAt = now.getTime();
    return true;
  }
}
