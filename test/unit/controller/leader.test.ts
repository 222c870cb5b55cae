import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { LeaseApi, LeaderOptions } from '../../../src/controller/leader.js';
import { LeaderElector } from '../../../src/controller/leader.js';
import { LeaseStore, useElectors } from './lease-store.js';

interface Replica {
  elector: LeaderElector;
  started: number;
  stopped: number;
  lines: Record<string, unknown>[];
}

/** lease 4 s, renew deadline 3 s, retry every 1 s (the test harness's flags). */
function replica(api: LeaseApi, identity: string, o: Partial<LeaderOptions> = {}): Replica {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done): void { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  const r: Replica = { elector: undefined as unknown as LeaderElector, started: 0, stopped: 0, lines };
  r.elector = new LeaderElector({
    api, namespace: 'ctl', name: 'lease', identity, log: pino({ level: 'debug' }, sink),
    leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 1000,
    onStartedLeading: () => { r.started++; },
    onStoppedLeading: () => { r.stopped++; },
    ...o,
  });
  return r;
}

const at = async (ms: number): Promise<void> => { await vi.advanceTimersByTimeAsync(ms); };

describe('LeaderElector', () => {
  let store = new LeaseStore();
  const start = useElectors((s) => { store = s; });

  it('creates a missing Lease, holds it and calls onStartedLeading once', async () => {
    const a = start(replica(store, 'a'));
    await at(0);
    expect(a.elector.isLeader).toBe(true);
    expect(a.started).toBe(1);
    expect(store.spec()).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 4, leaseTransitions: 0 });
    expect(a.lines.find((l) => l.msg === 'became leader')).toMatchObject({ identity: 'a' });
  });

  it('renews every retry period, keeping acquireTime and leaseTransitions, without calling onStartedLeading again', async () => {
    const a = start(replica(store, 'a'));
    await at(0);
    const acquired = String(store.spec()?.acquireTime);
    const firstRenew = String(store.spec()?.renewTime);
    await at(3000);
    expect(store.writes).toBe(4);
    expect(String(store.spec()?.acquireTime)).toBe(acquired);
    expect(String(store.spec()?.renewTime)).not.toBe(firstRenew);
    expect(store.spec()?.leaseTransitions).toBe(0);
    expect(a.started).toBe(1);
  });

  it('leaves a Lease that its holder keeps renewing alone', async () => {
    const a = start(replica(store, 'a'));
    await at(0);
    const b = start(replica(store, 'b'));
    await at(10_000);
    expect(b.elector.isLeader).toBe(false);
    expect(b.started).toBe(0);
    expect(store.spec()?.holderIdentity).toBe('a');
    expect(a.elector.isLeader).toBe(true);
  });

  it('takes over a Lease whose holder stopped renewing once a whole lease duration has passed on its own clock', async () => {
    store.set({ holderIdentity: 'gone', leaseDurationSeconds: 4, renewTime: new Date(), acquireTime: new Date(), leaseTransitions: 2 });
    const b = start(replica(store, 'b'));
    await at(4000);
    expect(b.elector.isLeader).toBe(false); // seen at 0 s, unchanged for 4 s: not yet more than the duration
    await at(1000);
    expect(b.elector.isLeader).toBe(true);
    expect(store.spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 3 });
  });

  it('trusts its own clock, not the renewTime written by the holder', async () => {
    // a holder whose clock runs an hour behind still holds the Lease while it renews
    const renewLate = (): void => {
      const spec = store.spec();
      store.set({ ...spec, holderIdentity: 'skewed', leaseDurationSeconds: 4, renewTime: new Date(Date.now() - 3_600_000) });
    };
    renewLate();
    const b = start(replica(store, 'b'));
    for (let i = 0; i < 10; i++) {
      await at(1000);
      renewLate();
    }
    expect(b.elector.isLeader).toBe(false);
  });

  it('loses a conflicting round quietly: one of two replicas leads, the other logs no warning', async () => {
    const a = start(replica(store, 'a'));
    const b = start(replica(store, 'b'));
    await at(5000);
    expect([a.elector.isLeader, b.elector.isLeader].filter(Boolean)).toHaveLength(1);
    expect([...a.lines, ...b.lines].filter((l) => l.msg === 'leader election round failed')).toEqual([]);
  });

  it('steps down after failing to renew for longer than the renew deadline, not before', async () => {
    const a = start(replica(store, 'a'));
    await at(0);
    store.down = true;
    await at(3000);
    expect(a.elector.isLeader).toBe(true);
    expect(a.stopped).toBe(0);
    await at(1000);
    expect(a.elector.isLeader).toBe(false);
    expect(a.stopped).toBe(1);
    expect(a.lines.filter((l) => l.msg === 'leader election round failed')[0]).toMatchObject({ err: 'lease: API server unreachable (connect ECONNREFUSED)' });
    expect(a.lines.some((l) => l.msg === 'lost leadership')).toBe(true);
  });

  it('removes the annotations of sharded replicas when it takes the Lease, so that they see a leader without shards', async () => {
    store.set({ holderIdentity: 'sharded', leaseDurationSeconds: 4, renewTime: new Date() }, 'lease', { 'sealbox.dev/shards': '3', 'sealbox.dev/wanted-by': 'x', other: 'kept' });
    const a = start(replica(store, 'a'));
    await at(5000);
    expect(a.elector.isLeader).toBe(true);
    expect(store.annotations()).toEqual({ other: 'kept' });
  });

  it('gives the Lease up on stop so another replica takes over at once', async () => {
    const a = start(replica(store, 'a'));
    await at(0);
    const b = start(replica(store, 'b'));
    await at(1000);
    expect(b.elector.isLeader).toBe(false);
    await a.elector.stop();
    expect(store.spec()).toMatchObject({ holderIdentity: undefined, leaseDurationSeconds: 1 });
    await at(1000);
    expect(b.elector.isLeader).toBe(true);
    expect(store.spec()?.leaseTransitions).toBe(1);
  });

  it('leaves the Lease alone when a follower stops, and makes no more rounds after stop', async () => {
    const a = start(replica(store, 'a'));
    await at(0);
    const b = start(replica(store, 'b'));
    await at(1000);
    await b.elector.stop();
    expect(store.spec()?.holderIdentity).toBe('a');
    await a.elector.stop();
    const writes = store.writes;
    await at(10_000);
    expect(store.writes).toBe(writes);
    expect(vi.getTimerCount()).toBe(0);
  });
});
