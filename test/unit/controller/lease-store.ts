// An in-memory Lease store for the election unit tests (LeaderElector,
// ShardElector); the integration tests use the real API server.
import { afterEach, beforeEach, vi } from 'vitest';
import type { V1Lease } from '../../../src/kube/types.js';
import { KubeError } from '../../../src/kube/errors.js';
import type { LeaseApi } from '../../../src/controller/leader.js';

/**
 * Leases as the API server keeps them: a resourceVersion that each write
 * bumps, 409 on a create of an existing Lease or a replace with a stale
 * resourceVersion. `down` makes every call fail as an unreachable server does.
 */
export class LeaseStore implements LeaseApi {
  readonly #leases = new Map<string, V1Lease>();
  #version = 0;
  down = false;
  writes = 0;

  #check(): void {
    if (this.down) throw new KubeError(0, 'lease: API server unreachable (connect ECONNREFUSED)');
  }

  getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    this.#check();
    const lease = this.#leases.get(`${namespace}/${name}`);
    return Promise.resolve(lease === undefined ? undefined : { ...lease, metadata: { ...lease.metadata }, spec: { ...lease.spec } });
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    this.#check();
    const key = `${lease.metadata?.namespace ?? ''}/${lease.metadata?.name ?? ''}`;
    if (this.#leases.has(key)) return Promise.reject(new KubeError(409, 'create lease: HTTP 409: already exists'));
    return Promise.resolve(this.#save(key, lease));
  }

  replaceLease(lease: V1Lease): Promise<V1Lease> {
    this.#check();
    const key = `${lease.metadata?.namespace ?? ''}/${lease.metadata?.name ?? ''}`;
    if (this.#leases.get(key)?.metadata?.resourceVersion !== lease.metadata?.resourceVersion) {
      return Promise.reject(new KubeError(409, 'update lease: HTTP 409: the object has been modified'));
    }
    return Promise.resolve(this.#save(key, lease));
  }

  #save(key: string, lease: V1Lease): V1Lease {
    this.writes++;
    const saved = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.#version) }, spec: { ...lease.spec } };
    this.#leases.set(key, saved);
    return { ...saved, spec: { ...saved.spec } };
  }

  /** The stored spec of Lease ctl/`name`, for assertions. */
  spec(name = 'lease'): NonNullable<V1Lease['spec']> | undefined {
    return this.#leases.get(`ctl/${name}`)?.spec;
  }

  /** The stored annotations of Lease ctl/`name`, for assertions. */
  annotations(name = 'lease'): Record<string, string> {
    return this.#leases.get(`ctl/${name}`)?.metadata?.annotations ?? {};
  }

  /** Writes Lease ctl/`name` as another replica would (with `annotations` when given). */
  set(spec: NonNullable<V1Lease['spec']>, name = 'lease', annotations?: Record<string, string>): void {
    const key = `ctl/${name}`;
    const old = this.#leases.get(key);
    const metadata = { ...(old?.metadata ?? { name, namespace: 'ctl' }), ...(annotations === undefined ? {} : { annotations }) };
    this.#save(key, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec });
  }
}

/** What useElectors needs of an elector. */
interface Elector {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Fake timers from a fixed date and a fresh LeaseStore (handed to `onStore`)
 * before each test; after it, every elector started through the returned
 * `start` is stopped and real timers come back.
 */
export function useElectors(onStore: (store: LeaseStore) => void): <R extends { readonly elector: Elector }>(r: R) => R {
  const running: Elector[] = [];
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    onStore(new LeaseStore());
  });
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
    vi.useRealTimers();
  });
  return (r) => {
    running.push(r.elector);
    r.elector.start();
    return r;
  };
}
