import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { ShardElectorOptions } from '../../../src/controller/shard-elector.js';
import { ShardElector } from '../../../src/controller/shard-elector.js';
import { SHARDS_ANNOTATION, WANTED_BY_ANNOTATION } from '../../../src/controller/shards.js';
import { LeaseStore, useElectors } from './lease-store.js';

interface Replica {
  elector: ShardElector;
  /** "+s" on gaining shard s, "-s" on losing it, "drained s" after its drain. */
  events: string[];
  lines: Record<string, unknown>[];
}

/** lease 4 s, renew deadline 3 s, retry every 1 s (the test harness's flags); Lease "lease" for shard 0. */
function replica(store: LeaseStore, identity: string, shards: number, o: Partial<ShardElectorOptions> = {}): Replica {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done): void { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  const events: string[] = [];
  const elector = new ShardElector({
    api: store, namespace: 'ctl', leaseName: 'lease', shards, identity, preferred: undefined, log: pino({ level: 'debug' }, sink),
    leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 1000,
    onGained: (s) => { events.push(`+${String(s)}`); },
    onLost: (s) => { events.push(`-${String(s)}`); },
    drain: (s) => { events.push(`drained ${String(s)} holder=${String(store.spec(s === 0 ? 'lease' : `lease-shard-${String(s)}`)?.holderIdentity)}`); return Promise.resolve(); },
    ...o,
  });
  return { elector, events, lines };
}

/** The replicas' --lease-duration. */
const LEASE_MS = 4000;
const at = async (ms: number): Promise<void> => { await vi.advanceTimersByTimeAsync(ms); };

describe('ShardElector', () => {
  let store = new LeaseStore();
  const start = useElectors((s) => { store = s; });

  it('creates one Lease per shard, shard 0 under the leader Lease name, each marked with the shard count', async () => {
    const a = start(replica(store, 'a', 3));
    await at(LEASE_MS);
    expect([...a.elector.held].sort()).toEqual([0, 1, 2]);
    expect(a.events.sort()).toEqual(['+0', '+1', '+2']);
    for (const name of ['lease', 'lease-shard-1', 'lease-shard-2']) {
      expect(store.spec(name)?.holderIdentity).toBe('a');
      expect(store.annotations(name)[SHARDS_ANNOTATION]).toBe('3');
    }
  });

  it('hands a shard to the replica that prefers it, stopping and draining before the Lease changes hands', async () => {
    const c0 = start(replica(store, 'c-0', 2, { preferred: 0 }));
    await at(LEASE_MS); // alone for a lease duration: it takes the orphaned shard 1 too
    expect([...c0.elector.held].sort()).toEqual([0, 1]);
    const c1 = start(replica(store, 'c-1', 2, { preferred: 1 }));
    await at(0);
    expect(store.annotations('lease-shard-1')[WANTED_BY_ANNOTATION]).toBe('c-1');
    await at(3000);
    expect([...c0.elector.held]).toEqual([0]);
    expect([...c1.elector.held]).toEqual([1]);
    // c-0 stopped taking work for shard 1, then drained it while it still held the Lease
    expect(c0.events).toEqual(['+0', '+1', '-1', 'drained 1 holder=c-0']);
    expect(c1.events).toEqual(['+1']);
    expect(store.spec('lease-shard-1')?.holderIdentity).toBe('c-1');
    expect(store.annotations('lease-shard-1')[WANTED_BY_ANNOTATION]).toBeUndefined();
    // and it stays that way
    await at(10_000);
    expect([...c0.elector.held]).toEqual([0]);
    expect([...c1.elector.held]).toEqual([1]);
  });

  it('lets a replica started within the lease duration of another take its own shard: the first never holds it', async () => {
    const c0 = start(replica(store, 'c-0', 2, { preferred: 0 }));
    await at(0);
    expect([...c0.elector.held]).toEqual([0]);
    await at(LEASE_MS - 1000);
    expect([...c0.elector.held]).toEqual([0]); // shard 1 is free, but its replica may still be starting
    const c1 = start(replica(store, 'c-1', 2, { preferred: 1 }));
    await at(10_000);
    expect(c0.events).toEqual(['+0']);
    expect(c1.events).toEqual(['+1']);
  });

  it('takes a shard whose Lease is missing once it has run alone for a lease duration', async () => {
    const c0 = start(replica(store, 'c-0', 2, { preferred: 0 }));
    await at(LEASE_MS - 1000);
    expect([...c0.elector.held]).toEqual([0]);
    await at(1000);
    expect([...c0.elector.held].sort()).toEqual([0, 1]);
  });

  it('gives replicas that prefer no shard and start together one shard each, with no hand-over', async () => {
    const a = start(replica(store, 'deploy-abc12', 2));
    const b = start(replica(store, 'deploy-def34', 2));
    await at(10_000);
    expect([a.elector.held.size, b.elector.held.size]).toEqual([1, 1]);
    expect([...a.events, ...b.events].sort()).toEqual(['+0', '+1']);
  });

  it('balances replicas that prefer no shard (a Deployment): two replicas, four shards, two each', async () => {
    const a = start(replica(store, 'deploy-abc12', 4));
    await at(LEASE_MS);
    expect(a.elector.held.size).toBe(4);
    const b = start(replica(store, 'deploy-def34', 4));
    await at(15_000);
    expect([a.elector.held.size, b.elector.held.size]).toEqual([2, 2]);
  });

  it('takes over the shards of a replica that stopped renewing within the lease duration', async () => {
    const c0 = start(replica(store, 'c-0', 2, { preferred: 0 }));
    const c1 = start(replica(store, 'c-1', 2, { preferred: 1 }));
    await at(5000);
    expect([...c0.elector.held]).toEqual([0]);
    expect([...c1.elector.held]).toEqual([1]);
    // c-1 freezes: its timers stop, its Lease is no longer renewed
    await c1.elector.stop(); // releases at once ...
    store.set({ ...store.spec('lease-shard-1'), holderIdentity: 'c-1', leaseDurationSeconds: 4, renewTime: new Date() }, 'lease-shard-1'); // ... so make it look crashed instead
    await at(4000);
    expect([...c0.elector.held]).toEqual([0]);
    await at(2000);
    expect([...c0.elector.held].sort()).toEqual([0, 1]);
  });

  it('stops writing for its shards once it has failed to renew for the renew deadline, not before', async () => {
    const a = start(replica(store, 'a', 2));
    await at(LEASE_MS);
    store.down = true;
    await at(3000);
    expect(a.elector.held.size).toBe(2);
    await at(1000);
    expect(a.elector.held.size).toBe(0);
    expect(a.events).toEqual(['+0', '+1', '-0', '-1']);
  });

  it('may not write for a shard once the renew deadline has passed since its last renewal, even before a round notices', async () => {
    const a = start(replica(store, 'a', 2));
    await at(LEASE_MS);
    expect([a.elector.holds(0), a.elector.holds(1)]).toEqual([true, true]);
    // the event loop stalls: the clock moves on, no timer runs
    vi.setSystemTime(Date.now() + 3001);
    expect(a.elector.held.size).toBe(2);
    expect([a.elector.holds(0), a.elector.holds(1)]).toEqual([false, false]);
  });

  it('stops for a shard at once when it sees another replica holding it', async () => {
    const a = start(replica(store, 'a', 2));
    await at(0);
    store.set({ ...store.spec('lease-shard-1'), holderIdentity: 'b', renewTime: new Date() }, 'lease-shard-1');
    await at(1000);
    expect([...a.elector.held]).toEqual([0]);
  });

  it('takes nothing, and gives up what it holds, while a leader without shards holds shard 0', async () => {
    const a = start(replica(store, 'a', 2));
    await at(0);
    store.set({ holderIdentity: 'old-leader', leaseDurationSeconds: 4, renewTime: new Date() }, 'lease', {});
    await at(1000);
    expect(a.elector.held.size).toBe(0);
    expect(store.spec('lease-shard-1')?.holderIdentity).toBeUndefined();
  });

  it('gives every shard up on stop', async () => {
    const a = start(replica(store, 'a', 2));
    await at(0);
    await a.elector.stop();
    expect(store.spec('lease')?.holderIdentity).toBeUndefined();
    expect(store.spec('lease-shard-1')?.holderIdentity).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
