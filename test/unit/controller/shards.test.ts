import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeaseView, Round, ShardAction } from '../../../src/controller/shards.js';
import { ShardGate, decideRound, fnv1a32, preferredShard, shardLeaseName, shardOf } from '../../../src/controller/shards.js';

describe('fnv1a32', () => {
  // the FNV-1a 32-bit test vectors of draft-eastlake-fnv
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('hashes %j to the published value', (text, hash) => {
    expect(fnv1a32(text)).toBe(hash);
  });

  it('hashes the UTF-8 bytes, not UTF-16 code units', () => {
    // "é" is 0xc3 0xa9 in UTF-8
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(h);
  });
});

describe('shardOf', () => {
  it('puts every namespace in shard 0 with one shard', () => {
    expect(['default', 'prod', 'x'].map((ns) => shardOf(ns, 1))).toEqual([0, 0, 0]);
  });

  it('is the hash modulo the shard count, stable across calls', () => {
    expect(shardOf('foobar', 3)).toBe(0xbf9cf968 % 3);
    expect(shardOf('foobar', 4)).toBe(0xbf9cf968 % 4);
    expect(shardOf('team-a', 5)).toBe(shardOf('team-a', 5));
  });

  it('spreads many namespaces over every shard', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 300; i++) { const s = shardOf(`tenant-${String(i)}`, 3); counts[s] = (counts[s] ?? 0) + 1; }
    for (const c of counts) expect(c).toBeGreaterThan(60);
  });
});

describe('shardLeaseName', () => {
  it('keeps the leader Lease for shard 0 and suffixes the others', () => {
    expect([0, 1, 7].map((s) => shardLeaseName('sealbox-controller', s))).toEqual(['sealbox-controller', 'sealbox-controller-shard-1', 'sealbox-controller-shard-7']);
  });
});

describe('preferredShard', () => {
  it.each([
    { identity: 'sealbox-controller-0', shards: 3, flag: undefined, want: 0 },
    { identity: 'sealbox-controller-2', shards: 3, flag: undefined, want: 2 },
    { identity: 'sealbox-controller-3', shards: 3, flag: undefined, want: undefined }, // a spare replica
    { identity: 'sealbox-controller-7d9f8b6c5-x2k4q', shards: 3, flag: undefined, want: undefined }, // a Deployment's pod
    { identity: 'sealbox-controller-7d9f8b6c5-24567', shards: 3, flag: undefined, want: undefined }, // random, all digits
    { identity: 'sealbox-controller-01', shards: 3, flag: undefined, want: undefined }, // not an ordinal
    { identity: 'host', shards: 3, flag: undefined, want: undefined },
    { identity: 'anything', shards: 3, flag: 1, want: 1 },
    { identity: 'sealbox-controller-0', shards: 3, flag: 2, want: 2 }, // the flag wins
    { identity: 'anything', shards: 3, flag: 3, want: undefined },
  ])('$identity with --shards $shards and --shard $flag prefers $want', ({ identity, shards, flag, want }) => {
    expect(preferredShard(identity, shards, flag)).toBe(want);
  });
});

/** A Lease view; its shard count is the round's unless given. */
type View = Omit<LeaseView, 'shards'> & { shards?: number };
const free: View = { exists: true, holder: '', expired: true, wantedBy: '' };
const missing: View = { exists: false, holder: '', expired: true, wantedBy: '' };
const held = (holder: string, o: Partial<LeaseView> = {}): View => ({ exists: true, holder, expired: false, wantedBy: '', ...o });

/** One round of `me`; `settled`: it has run for a lease duration (default). */
function round(me: string, views: (View | undefined)[], preferred?: number, settled = true): ShardAction[] {
  const leases = views.map((v) => (v === undefined ? undefined : { shards: views.length, ...v }));
  const r: Round = { me, shards: views.length, preferred, leases, settled };
  return decideRound(r);
}
const kinds = (actions: ShardAction[]): string[] => actions.map((a) => (a.kind === 'handover' ? `handover:${a.to}` : a.kind));

describe('decideRound', () => {
  it('creates missing Leases, acquires free and expired ones and renews its own', () => {
    expect(kinds(round('a', [missing, free, held('a'), held('gone', { expired: true })]))).toEqual(['create', 'acquire', 'renew', 'acquire']);
  });

  it('claims only its preferred shard before it has run for a lease duration: a peer starting with it takes its own', () => {
    expect(kinds(round('c-0', [missing, missing, free], 0, false))).toEqual(['create', 'wait', 'wait']);
    expect(kinds(round('c-1', [free, free, held('gone', { expired: true })], 1, false))).toEqual(['wait', 'acquire', 'wait']);
    expect(kinds(round('c-1', [free, free, held('gone', { expired: true })], 1, true))).toEqual(['acquire', 'acquire', 'acquire']);
  });

  it('keeps renewing and handing over what it holds before it has run for a lease duration', () => {
    expect(kinds(round('c-0', [held('c-0'), held('c-0', { wantedBy: 'c-1' })], 0, false))).toEqual(['renew', 'handover:c-1']);
  });

  it('without a preferred shard, claims the first free shard while it holds none, and no other before it has run for a lease duration', () => {
    expect(kinds(round('d-x', [held('d-a'), missing, free], undefined, false))).toEqual(['wait', 'create', 'wait']);
    expect(kinds(round('d-x', [free, missing], undefined, false))).toEqual(['acquire', 'wait']);
    expect(kinds(round('d-x', [held('d-x'), missing, free], undefined, false))).toEqual(['renew', 'wait', 'wait']);
    expect(kinds(round('d-x', [held('d-x'), missing, free], undefined, true))).toEqual(['renew', 'create', 'acquire']);
  });

  it('leaves a Lease another replica renews alone, and one it could not read', () => {
    expect(kinds(round('a', [held('b'), undefined, held('a')]))).toEqual(['wait', 'wait', 'renew']);
  });

  it('asks for its preferred shard when another replica holds it', () => {
    expect(kinds(round('c-1', [held('c-0'), held('c-0')], 1))).toEqual(['wait', 'want']);
  });

  it('asks only once: a Lease it already asked for is left to its holder', () => {
    expect(kinds(round('c-1', [held('c-0'), held('c-0', { wantedBy: 'c-1' })], 1))).toEqual(['wait', 'wait']);
  });

  it('does not ask for a shard its holder prefers too (two replicas given the same --shard)', () => {
    expect(kinds(round('x', [held('c-0'), held('c-1')], 1))).toEqual(['wait', 'wait']);
  });

  it('hands a shard over to the replica that asks for it', () => {
    expect(kinds(round('c-0', [held('c-0'), held('c-0', { wantedBy: 'c-1' })], 0))).toEqual(['renew', 'handover:c-1']);
  });

  it('keeps its own preferred shard even when asked for it', () => {
    expect(kinds(round('c-0', [held('c-0', { wantedBy: 'intruder' }), held('c-0')], 0))).toEqual(['renew', 'renew']);
  });

  it('balances: a replica holding none asks for a shard of one holding two or more, not one its holder prefers', () => {
    expect(kinds(round('d-x', [held('d-a'), held('d-a'), held('d-b')]))).toEqual(['wait', 'want', 'wait']);
    // d-0 prefers shard 0, so d-x asks for shard 1
    expect(kinds(round('d-x', [held('d-0'), held('d-0'), held('d-b')]))).toEqual(['wait', 'want', 'wait']);
    expect(kinds(round('d-x', [held('d-1'), held('d-1'), held('d-b')]))).toEqual(['want', 'wait', 'wait']);
  });

  it('does not balance when no replica holds two more than it does', () => {
    expect(kinds(round('d-x', [held('d-a'), held('d-b'), held('d-x')]))).toEqual(['wait', 'wait', 'renew']);
    expect(kinds(round('d-x', [held('d-a'), held('d-a'), held('d-x')]))).toEqual(['wait', 'wait', 'renew']);
  });

  it('asks for one shard at a time', () => {
    expect(kinds(round('d-x', [held('d-a'), held('d-a'), held('d-a', { wantedBy: 'd-x' }), held('d-a')]))).toEqual(['wait', 'wait', 'wait', 'wait']);
  });

  it('leaves a shard someone else asked for to them', () => {
    expect(kinds(round('d-x', [held('d-a'), held('d-a', { wantedBy: 'd-y' })]))).toEqual(['want', 'wait']);
  });

  it('releases what it holds and takes nothing while replicas with another shard count hold shard 0', () => {
    expect(kinds(round('a', [held('old', { shards: 1 }), held('a'), free]))).toEqual(['wait', 'release', 'wait']);
  });

  it('takes shard 0 over from a replica with another shard count once its Lease has expired', () => {
    expect(kinds(round('a', [held('old', { shards: 1, expired: true }), held('a'), free]))).toEqual(['acquire', 'renew', 'acquire']);
  });
});

describe('ShardGate', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('runs the work of held shards only', async () => {
    const ns = ['a', 'b', 'c', 'd', 'e', 'f'];
    const gate = new ShardGate(2, (s) => s === 1);
    const ran: string[] = [];
    for (const n of ns) await gate.run(`${n}/x`, () => { ran.push(n); return Promise.resolve(); });
    expect(ran).toEqual(ns.filter((n) => shardOf(n, 2) === 1));
    expect(ns.filter((n) => gate.owns(n))).toEqual(ran);
  });

  it('drains: resolves once the shard\'s running work has finished', async () => {
    const ns = ['a', 'b', 'c', 'd'].find((n) => shardOf(n, 2) === 0) ?? '';
    const gate = new ShardGate(2, () => true);
    let finish = (): void => undefined;
    const running = gate.run(`${ns}/x`, () => new Promise<void>((r) => { finish = r; }));
    let drained = false;
    const drain = gate.drain(0, 60_000).then(() => { drained = true; });
    await Promise.resolve();
    expect(drained).toBe(false);
    await gate.drain(1, 60_000); // nothing runs in shard 1
    finish();
    await running;
    await drain;
    expect(drained).toBe(true);
  });

  it('stops waiting after the timeout', async () => {
    vi.useFakeTimers();
    const ns = ['a', 'b', 'c', 'd'].find((n) => shardOf(n, 2) === 0) ?? '';
    const gate = new ShardGate(2, () => true);
    void gate.run(`${ns}/x`, () => new Promise<void>(() => undefined));
    let drained = false;
    void gate.drain(0, 1000).then(() => { drained = true; });
    await vi.advanceTimersByTimeAsync(999);
    expect(drained).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(drained).toBe(true);
  });
});
