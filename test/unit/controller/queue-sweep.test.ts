// WorkQueue.sweep (issue 17 §1): a resync of every resource, or the enqueue
// of all of them when the initial list ends, hands the queue each
// namespace's keys as an iterator; a key is made only when its namespace's
// turn comes, so 100,000 keys never wait at once. These tests count what
// was taken from the iterators. The "attack26" ones are an attacker's
// (a tenant with edit rights in one namespace) against the first version,
// which kept a few swept keys waiting whatever their namespace: each failed
// there and passed on the queue that enqueued every key at once.
import { describe, expect, it } from 'vitest';
import type { SweepGroup } from '../../../src/controller/queue.js';
import { WorkQueue } from '../../../src/controller/queue.js';
import type { SealedSummary } from '../../../src/controller/sealed-cache.js';
import { ShardGate, shardOf } from '../../../src/controller/shards.js';
import { sweepGroups } from '../../../src/controller/sweep.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const keys = (ns: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${ns}/k${String(i)}`);
const summary = (namespace: string, name: string): SealedSummary => ({ metadata: { namespace, name } } as unknown as SealedSummary);
const summaries = (ns: string, n: number): SealedSummary[] => Array.from({ length: n }, (_, i) => summary(ns, `k${String(i)}`));

/** A sweep group of `list` (keys of one namespace), counting the keys taken from it. */
function group(namespace: string, list: readonly string[], count: { taken: number } = { taken: 0 }): SweepGroup {
  return { namespace, count: list.length, keys: (function* () { for (const k of list) { count.taken++; yield k; } })() };
}

describe('WorkQueue.sweep', () => {
  it('makes a key only when it runs, and runs every one', async () => {
    const release: (() => void)[] = [];
    const runs: string[] = [];
    const q = new WorkQueue((k) => { runs.push(k); return new Promise<void>((r) => release.push(r)); }, { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    const count = { taken: 0 };
    q.sweep([group('a', keys('a', 1000), count), group('b', keys('b', 1000), count)], false);
    expect(runs).toHaveLength(2);
    expect(count.taken).toBe(2);
    expect(q.size).toBe(2000);
    while (runs.length < 2000) {
      release.splice(0).forEach((r) => { r(); });
      await sleep(0);
      expect(count.taken).toBe(runs.length);
    }
    release.splice(0).forEach((r) => { r(); });
    await q.idle();
    expect(new Set(runs).size).toBe(2000);
    expect(q.size).toBe(0);
  });

  it('serves a key added meanwhile in another namespace before the rest of the sweep, and in its own behind it', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.sweep([group('a', keys('a', 200))], false);
    await sleep(5);
    q.add('b/urgent');
    q.add('a/later');
    q.add('a/k199'); // the pass finds it waiting and leaves it: it runs once
    await q.idle();
    expect(runs).toHaveLength(202);
    expect(runs.indexOf('b/urgent')).toBeLessThan(runs.indexOf('a/k40'));
    // first in, first out within a namespace, as when a sweep's keys were enqueued at once
    expect(runs.slice(-2)).toEqual(['a/later', 'a/k199']);
    expect(runs.filter((k) => k === 'a/k199')).toHaveLength(1);
  });

  it('runs a swept key that is running once more after it; one already waiting runs for itself and again for the sweep', async () => {
    let open = (): void => {};
    const gate = new Promise<void>((r) => { open = r; });
    const runs: string[] = [];
    const q = new WorkQueue((k) => { runs.push(k); return k === 'a/k0' && runs.length === 1 ? gate : Promise.resolve(); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.add('a/k0'); // runs, waits for the gate
    q.add('b/k0'); // waits
    q.sweep([group('a', ['a/k0']), group('b', ['b/k0'])], false);
    open();
    await q.idle();
    // before sweeps, b/k0 ran once: the sweep found it waiting; a pass cannot tell whether it ran since
    expect(runs.sort()).toEqual(['a/k0', 'a/k0', 'b/k0', 'b/k0']);
  });

  it('lets a running pass end, and folds sweeps asked for meanwhile into one following pass (now if any was)', async () => {
    let open = (): void => {};
    const gate = new Promise<void>((r) => { open = r; });
    const runs: string[] = [];
    const q = new WorkQueue((k) => {
      runs.push(k);
      if (k === 'x/failing' && runs.length === 1) return Promise.reject(Object.assign(new Error('later'), { retryBaseMs: 60_000 }));
      return k === 'x/other' ? gate : Promise.resolve();
    }, { workers: 1, baseDelayMs: 5, maxDelayMs: 600_000 });
    q.add('x/failing');
    await sleep(5); // failed once: waits out a minute's backoff
    const first = { taken: 0 };
    q.sweep([group('x', ['x/failing', 'x/other', 'x/last'], first)], false); // x/failing skipped; x/other waits for the gate
    q.sweep([group('x', ['x/failing'])], true); // a key change: follows the running pass
    q.sweep([group('x', ['x/failing'])], false); // a resync: replaces it, still now
    open();
    await q.idle();
    q.stop();
    expect(first.taken).toBe(3); // the running pass went on to its end
    expect(runs).toEqual(['x/failing', 'x/other', 'x/last', 'x/failing']);
  });

  it('stops with 300,000 keys waiting in one namespace and a sweep behind them', () => {
    const q = new WorkQueue(() => new Promise<void>(() => {}), { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    for (let i = 0; i < 300_000; i++) q.add(`a/k${String(i)}`);
    q.sweep([group('a', ['a/x'])], false);
    expect(() => { q.stop(); }).not.toThrow();
  });

  it('stops taking from its sweeps when stopped', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(2); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    const count = { taken: 0 };
    q.sweep([group('a', keys('a', 1000), count)], false);
    await sleep(10);
    q.stop();
    const taken = count.taken;
    await sleep(20);
    expect(count.taken).toBe(taken);
    expect(taken).toBeLessThan(100);
  });

  /** Four workers; reconciles in namespace evil hang until `end()`, the others end at once and are recorded in `prod`. */
  function evilHangs(): { q: WorkQueue; prod: string[]; end: () => void } {
    const hung: (() => void)[] = [];
    const prod: string[] = [];
    const q = new WorkQueue((k) => {
      if (k.startsWith('evil/')) return new Promise<void>((r) => hung.push(r));
      prod.push(k);
      return Promise.resolve();
    }, { workers: 4, baseDelayMs: 5, maxDelayMs: 50 });
    return { q, prod, end: () => { q.stop(); hung.forEach((r) => { r(); }); } };
  }

  // attack26, 1: old code: all 200 keys queued, the 4th worker served prod at once
  it('attack26: a namespace whose reconciles hang does not hold back another namespace\'s resync', async () => {
    const { q, prod, end } = evilHangs();
    q.sweep(sweepGroups([...summaries('evil', 100), ...summaries('prod', 100)]), false);
    await sleep(100);
    const done = prod.length;
    end();
    expect(done).toBe(100);
  });

  // attack26, 2: many of a namespace's keys waiting (its events, its retries) stopped every sweep
  it('attack26: a namespace with many keys waiting does not stop every sweep', async () => {
    const { q, prod, end } = evilHangs();
    for (let i = 0; i < 23; i++) q.add(`evil/e${String(i)}`);
    q.sweep(sweepGroups(summaries('prod', 50)), true);
    await sleep(100);
    const done = prod.length;
    end();
    expect(done).toBe(50);
  });

  // attack26, 3: a sweep slower than --resync-period started again from the first key, so the tail never ran
  it('attack26: a sweep asked for again before it ends still reaches every key', async () => {
    const runs = new Set<string>();
    const q = new WorkQueue(async (k) => { runs.add(k); await sleep(2); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    const list = [...summaries('a', 100), ...summaries('b', 100)];
    const resync = (): void => { q.sweep(sweepGroups(list), false); };
    resync();
    for (let i = 0; i < 12; i++) { await sleep(50); resync(); }
    q.stop();
    expect(runs.has('a/k99')).toBe(true);
  });

  // attack26, 4: `now` stuck to every later resync, which then cut every failing key's backoff short
  it('attack26: a plain resync does not cut short a failing key\'s backoff after a key change\'s sweep', async () => {
    let failCalls = 0;
    const q = new WorkQueue(async (k) => {
      if (k === 'evil/fail') { failCalls++; throw Object.assign(new Error('later'), { retryBaseMs: 60_000 }); }
      await sleep(2);
    }, { workers: 2, baseDelayMs: 5, maxDelayMs: 600_000 });
    const list = [summary('evil', 'fail'), ...summaries('a', 200)];
    q.sweep(sweepGroups(list), true); // key change
    for (let i = 0; i < 5; i++) { await sleep(30); q.sweep(sweepGroups(list), false); } // plain resyncs
    q.stop();
    expect(failCalls).toBe(1);
  });

  // attack26, 5: a shard's sweep waited for the end of the running resync's
  it('attack26: a shard taken over is swept without waiting for the end of the running resync', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(2); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.sweep(sweepGroups([...summaries('a', 100), ...summaries('b', 100)]), false);
    await sleep(5);
    q.sweep(sweepGroups(summaries('taken', 5)), true);
    await sleep(100);
    q.stop();
    expect(runs.filter((k) => k.startsWith('taken/'))).toHaveLength(5);
  });
});

/** Shards for the shard tests: three, over namespaces "ns<i>". */
const SHARDS = 3;
/** The first `n` namespaces "ns<i>" of shard `s`. */
function namespacesOf(s: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (shardOf(`ns${String(i)}`, SHARDS) === s) out.push(`ns${String(i)}`);
  return out;
}
const shardMine = (s: number) => (ns: string): boolean => shardOf(ns, SHARDS) === s;
const one = namespacesOf(1, 4);
const two = namespacesOf(2, 4);
const list = [...one, ...two].flatMap((ns) => summaries(ns, 5));
/** Distinct keys of `nss` that ran (a pass begun at once is followed by the next sweep's: some run twice). */
const sweptIn = (runs: string[], nss: string[]): number => new Set(runs.filter((k) => nss.some((ns) => k.startsWith(`${ns}/`)))).size;

// attack26b, against the second version: every namespace had a group whatever
// `mine` said, so a shard's sweep replaced other shards' passes not yet begun
// with passes that yielded nothing, and those namespaces were not swept.
describe('WorkQueue.sweep and shards (attack26b)', () => {
  it('sweeps both of two shards gained one after the other', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    q.sweep(sweepGroups(list, shardMine(1)), true); // enqueueShard(1)
    q.sweep(sweepGroups(list, shardMine(2)), true); // enqueueShard(2)
    await q.idle();
    q.stop();
    expect([sweptIn(runs, one), sweptIn(runs, two)]).toEqual([20, 20]);
  });

  it('still sweeps the other shards in a resync when a shard is gained during it', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    const held = new Set([1]);
    q.sweep(sweepGroups(list, (ns) => held.has(shardOf(ns, SHARDS))), false); // the periodic resync (gate.owns)
    held.add(2);
    q.sweep(sweepGroups(list, shardMine(2)), true); // enqueueShard(2)
    await q.idle();
    q.stop();
    expect([sweptIn(runs, one), sweptIn(runs, two)]).toEqual([20, 20]);
  });
});

// attack26c, against the third version: variations of attack26b that held
// (lost and regained, a key change's sweep, compat's unfiltered sweep), and
// one that did not: ShardGate.owns is false while a held shard's renew is
// overdue (ShardElector.holds), and turns true again with no onGained, so a
// resync or key change made in that window no longer covered the shard.
describe('WorkQueue.sweep and shards (attack26c)', () => {
  it('sweeps a shard lost and regained before the resync\'s passes began, and the other shard', async () => {
    const held = new Set([1, 2]);
    const gate = new ShardGate(SHARDS, (s) => held.has(s));
    const runs: string[] = [];
    const q = new WorkQueue((k) => gate.run(k, async () => { runs.push(k); await sleep(1); }), { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    q.sweep(sweepGroups(list, (ns) => gate.owns(ns)), false); // resync
    held.delete(2);
    q.sweep(sweepGroups(list, (ns) => gate.owns(ns)), false); // resync while lost
    held.add(2);
    q.sweep(sweepGroups(list, shardMine(2)), true); // enqueueShard(2)
    await q.idle();
    q.stop();
    expect([sweptIn(runs, one), sweptIn(runs, two)]).toEqual([20, 20]);
  });

  it('keeps a key change\'s now for one shard when another is gained during it', async () => {
    const failing = `${one[0] ?? ''}/k0`;
    let calls = 0;
    const q = new WorkQueue(async (k) => {
      if (k === failing && calls++ === 0) throw Object.assign(new Error('later'), { retryBaseMs: 60_000 });
      await sleep(1);
    }, { workers: 1, baseDelayMs: 5, maxDelayMs: 600_000 });
    q.add(failing);
    await sleep(5); // failed once: a minute's backoff
    q.sweep(sweepGroups(list, shardMine(1)), true); // key change, shard 1 held
    q.sweep(sweepGroups(list, shardMine(2)), true); // shard 2 gained
    q.sweep(sweepGroups(list, shardMine(1)), false); // resync: folds in, still now
    await q.idle();
    q.stop();
    expect(calls).toBeGreaterThanOrEqual(2); // the backoff was cut short
  });

  it('compat: unfiltered sweeps asked for again still reach every namespace', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    q.sweep(sweepGroups(list), true);
    q.sweep(sweepGroups(list), false);
    q.sweep(sweepGroups(list), true);
    await q.idle();
    q.stop();
    expect([sweptIn(runs, one), sweptIn(runs, two)]).toEqual([20, 20]);
  });

  // attack26c, 1: failed on 21fe5ef (0 of shard 2's 20 keys: the resync had no group for it); a resync's scope is every namespace
  it('attack26c: a resync made while a held shard\'s renew is overdue still sweeps it once renewed', async () => {
    let overdue = true; // shard 2's renew is late (a slow API server, a stalled event loop)
    const gate = new ShardGate(SHARDS, (s) => s === 1 || (s === 2 && !overdue));
    const runs: string[] = [];
    const q = new WorkQueue((k) => gate.run(k, async () => { runs.push(k); await sleep(1); }), { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.add('busy/x'); // the worker is busy at the resync
    q.sweep(sweepGroups(list, (ns) => gate.owns(ns), () => true), false); // the resync as controller.ts makes it: every namespace, gate.owns when taken
    overdue = false; // the renew lands: held all along, so no onGained and no enqueueShard
    await q.idle();
    q.stop();
    expect([sweptIn(runs, one), sweptIn(runs, two)]).toEqual([20, 20]);
  });
});

describe('sweepGroups', () => {
  it('groups by namespace and asks whether a namespace is still mine only when its key is taken', () => {
    const all = [summary('a', '1'), summary('b', '1'), summary('a', '2'), summary('c', '1')];
    let mine = new Set(['a', 'b', 'c']);
    const groups = sweepGroups(all, (ns) => mine.has(ns));
    expect(groups.map((g) => [g.namespace, g.count])).toEqual([['a', 2], ['b', 1], ['c', 1]]);
    const [a, , c] = groups.map((g) => g.keys[Symbol.iterator]());
    expect(a?.next().value).toBe('a/1');
    mine = new Set(['c']); // shard a given up meanwhile
    expect(a?.next().done).toBe(true);
    expect(c?.next().value).toBe('c/1');
  });
});
