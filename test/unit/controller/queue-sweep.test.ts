// WorkQueue.sweep (issue 17 §1): a resync of every resource, or the enqueue
// of all of them when the initial list ends, hands the queue an iterator;
// keys are taken from it as workers need them, so 100,000 keys never wait at
// once. These tests count what was taken from the iterator.
import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../src/controller/queue.js';
import { roundRobin, sweepKeys } from '../../../src/controller/sweep.js';
import type { SealedSummary } from '../../../src/controller/sealed-cache.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Yields `keys`, counting how many were taken. */
function counted(keys: Iterable<string>): { it: Iterable<string>; taken: () => number } {
  let taken = 0;
  return { it: (function* () { for (const k of keys) { taken++; yield k; } })(), taken: () => taken };
}

const keys = (ns: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${ns}/k${String(i)}`);

describe('WorkQueue.sweep', () => {
  it('takes keys only as workers need them, and runs every one', async () => {
    const release: (() => void)[] = [];
    const runs: string[] = [];
    const q = new WorkQueue((k) => { runs.push(k); return new Promise<void>((r) => release.push(r)); }, { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    const src = counted(roundRobin([keys('a', 1000), keys('b', 1000)]));
    q.sweep('all', src.it, false, 2000);
    // two running, a few waiting: not 2,000 keys in the queue
    expect(runs).toHaveLength(2);
    expect(src.taken()).toBeLessThanOrEqual(2 + 4 * 2);
    expect(q.size).toBe(2000);
    while (runs.length < 2000) {
      release.splice(0).forEach((r) => { r(); });
      await sleep(0);
      expect(src.taken() - runs.length).toBeLessThanOrEqual(4 * 2);
    }
    release.splice(0).forEach((r) => { r(); });
    await q.idle();
    expect(new Set(runs).size).toBe(2000);
    expect(q.size).toBe(0);
  });

  it('serves a key added meanwhile before the rest of the sweep', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.sweep('all', keys('a', 200), false, 200);
    await sleep(5);
    q.add('b/urgent');
    await q.idle();
    expect(runs).toHaveLength(201);
    expect(runs.indexOf('b/urgent')).toBeLessThan(20);
  });

  it('lets a resync sweep wait out a pending backoff; a sweep with now cuts it short', async () => {
    let calls = 0;
    const q = new WorkQueue(() => {
      calls++;
      return Promise.reject(Object.assign(new Error('secret not owned'), { retryBaseMs: 60_000 }));
    }, { workers: 1, baseDelayMs: 5, maxDelayMs: 600_000 });
    q.add('ns/a');
    await q.idle();
    expect(calls).toBe(1);
    q.sweep('all', ['ns/a'], false, 1);
    await sleep(20);
    await q.idle();
    expect(calls).toBe(1);
    q.sweep('all', ['ns/a'], true, 1);
    await sleep(20);
    await q.idle();
    q.stop();
    expect(calls).toBe(2);
  });

  it('replaces an unfinished sweep of the same id, keeping its now; sweeps of other ids both run', async () => {
    let open = (): void => {};
    const gate = new Promise<void>((r) => { open = r; });
    const runs: string[] = [];
    let calls = 0;
    const q = new WorkQueue((k) => {
      runs.push(k);
      calls++;
      if (k === 'x/failing' && calls === 1) return Promise.reject(Object.assign(new Error('later'), { retryBaseMs: 60_000 }));
      return gate;
    }, { workers: 1, baseDelayMs: 5, maxDelayMs: 600_000 });
    q.add('x/failing');
    await sleep(5); // failed once: waits out a minute's backoff
    const first = counted(keys('a', 100));
    q.sweep('all', first.it, true, 100); // its first key runs and waits for the gate
    const second = counted([...keys('b', 50), 'x/failing']);
    q.sweep('all', second.it, false, 51); // replaces the first, which had now
    q.sweep('shard 1', keys('c', 10), false, 10);
    open();
    await q.idle();
    q.stop();
    expect(first.taken()).toBeLessThanOrEqual(5);
    expect(runs.filter((k) => k.startsWith('a/')).length).toBe(first.taken());
    expect(runs.filter((k) => k.startsWith('b/'))).toHaveLength(50);
    expect(runs.filter((k) => k.startsWith('c/'))).toHaveLength(10);
    expect(runs.filter((k) => k === 'x/failing')).toHaveLength(2); // the first sweep's now cut the backoff short
  });

  it('stops taking from its sweeps when stopped', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(2); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    const src = counted(keys('a', 1000));
    q.sweep('all', src.it, false, 1000);
    await sleep(10);
    q.stop();
    const taken = src.taken();
    await sleep(20);
    expect(src.taken()).toBe(taken);
    expect(taken).toBeLessThan(100);
  });
});

describe('sweepKeys', () => {
  const summary = (namespace: string, name: string): SealedSummary => ({ metadata: { namespace, name } } as unknown as SealedSummary);

  it('gives namespaces turns and asks whether a namespace is still mine only when its key is taken', () => {
    const all = [summary('a', '1'), summary('a', '2'), summary('a', '3'), summary('b', '1'), summary('c', '1'), summary('c', '2')];
    let mine = new Set(['a', 'b', 'c']);
    const it = sweepKeys(all, (ns) => mine.has(ns));
    expect([it.next().value, it.next().value, it.next().value]).toEqual(['a/1', 'b/1', 'c/1']);
    mine = new Set(['a']); // shard c given up meanwhile
    expect([...it]).toEqual(['a/2', 'a/3']);
  });
});
