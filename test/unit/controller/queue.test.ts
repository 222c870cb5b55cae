import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../src/controller/queue.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('runs a key once however often it is added while waiting', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(5); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.add('busy'); // occupies the only worker, so the rest wait
    q.add('a'); q.add('b'); q.add('a'); q.add('a');
    await q.idle();
    expect(runs).toEqual(['busy', 'a', 'b']);
  });

  it('never runs one key on two workers at once, and runs it again when it was added while running', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const q = new WorkQueue(async () => {
      running++; runs++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(20);
      running--;
    }, { workers: 4, baseDelayMs: 5, maxDelayMs: 50 });
    q.add('a');
    await sleep(5);
    q.add('a'); q.add('a');
    await sleep(60);
    await q.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries a failing key with growing, capped delays and never gives up', async () => {
    const delays: number[] = [];
    let calls = 0;
    const q = new WorkQueue(() => {
      calls++;
      return calls < 7 ? Promise.reject(new Error('not yet')) : Promise.resolve();
    }, { workers: 1, baseDelayMs: 4, maxDelayMs: 20, onRetry: (_k, _e, _a, d) => delays.push(d) });
    q.add('a');
    for (let i = 0; i < 100 && calls < 7; i++) await sleep(10);
    q.stop();
    expect(calls).toBe(7);
    expect(delays).toHaveLength(6);
    expect(delays[1]).toBeGreaterThan(delays[0] ?? Infinity);
    expect(Math.max(...delays)).toBeLessThanOrEqual(24); // 20 ms cap plus 20% jitter
  });

  it('uses up to the configured number of workers for different keys', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(10);
      running--;
    }, { workers: 3, baseDelayMs: 5, maxDelayMs: 50 });
    for (const k of ['a/1', 'b/1', 'c/1', 'd/1', 'e/1', 'f/1']) q.add(k);
    await q.idle();
    expect(maxRunning).toBe(3);
  });

  it('retries sooner when the failure says when to look again', async () => {
    const delays: number[] = [];
    let calls = 0;
    const q = new WorkQueue(() => {
      calls++;
      if (calls > 3) return Promise.resolve();
      return Promise.reject(Object.assign(new Error('waiting for an annotation'), { retryAfterMs: 3 }));
    }, { workers: 1, baseDelayMs: 1000, maxDelayMs: 60_000, onRetry: (_k, _e, _a, d) => delays.push(d) });
    q.add('a');
    for (let i = 0; i < 50 && calls < 4; i++) await sleep(10);
    q.stop();
    expect(calls).toBe(4);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4);
  });

  it('takes turns over namespaces, so a backlog in one does not hold up the next key of another', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 1, baseDelayMs: 5, maxDelayMs: 50 });
    q.add('busy/0'); // occupies the only worker while the backlog queues up
    for (let i = 1; i <= 50; i++) q.add(`noisy/${i}`);
    q.add('victim/a');
    q.add('other/b');
    await q.idle();
    expect(runs.slice(0, 5)).toEqual(['busy/0', 'noisy/1', 'victim/a', 'other/b', 'noisy/2']);
    expect(runs).toHaveLength(53);
  });

  it('never gives one namespace every worker, so a namespace whose reconciles hang does not delay another', async () => {
    const hung: (() => void)[] = [];
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => {
      runs.push(k);
      if (k.startsWith('dev/')) await new Promise<void>((r) => hung.push(r));
    }, { workers: 3, baseDelayMs: 5, maxDelayMs: 50 });
    for (let i = 1; i <= 4; i++) q.add(`dev/${i}`); // nobody else waits yet
    await sleep(5);
    q.add('prod/victim');
    await sleep(20);
    expect(runs).toContain('prod/victim');
    expect(runs.filter((k) => k.startsWith('dev/'))).toHaveLength(2);
    while (hung.length > 0) {
      hung.shift()?.();
      await sleep(5);
    }
    await q.idle();
    expect(runs).toHaveLength(5);
  });

  it('keeps each namespace in first-in, first-out order', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (k) => { runs.push(k); await sleep(1); }, { workers: 2, baseDelayMs: 5, maxDelayMs: 50 });
    for (const k of ['a/1', 'b/1', 'a/2', 'a/3', 'b/2', 'c/1']) q.add(k);
    await q.idle();
    expect(runs.filter((k) => k.startsWith('a/'))).toEqual(['a/1', 'a/2', 'a/3']);
    expect(runs.filter((k) => k.startsWith('b/'))).toEqual(['b/1', 'b/2']);
  });

  it('reports its depth whenever it changes, not only when asked', async () => {
    const depths: number[] = [];
    let release = (): void => undefined;
    const q = new WorkQueue(() => new Promise<void>((r) => { release = r; }), { workers: 1, baseDelayMs: 5, maxDelayMs: 50, onDepth: (d) => depths.push(d) });
    q.add('ns/a'); q.add('ns/b'); q.add('ns/c');
    expect(depths.at(-1)).toBe(3);
    release();
    await sleep(5);
    expect(depths.at(-1)).toBe(2);
    release();
    await sleep(5);
    release();
    await q.idle();
    expect(depths.at(-1)).toBe(0);
  });

  it('backs off a slow poll exponentially from its own base, up to the cap', async () => {
    const delays: number[] = [];
    let calls = 0;
    const q = new WorkQueue(() => {
      calls++;
      return Promise.reject(Object.assign(new Error('secret not owned'), { retryBaseMs: 2 }));
    }, { workers: 1, baseDelayMs: 1000, maxDelayMs: 40, onRetry: (_k, _e, _a, d) => delays.push(d) });
    q.add('ns/a');
    for (let i = 0; i < 100 && calls < 7; i++) await sleep(10);
    q.stop();
    // 2, 4, 8, 16, 32, 40, 40 ms, each within 20% jitter
    expect(delays[0]).toBeLessThanOrEqual(3);
    expect(delays[3]).toBeGreaterThanOrEqual(12);
    expect(delays[3]).toBeLessThanOrEqual(20);
    expect(Math.max(...delays)).toBeLessThanOrEqual(48);
  });

  it.each([
    ['resync() and add()', (q: WorkQueue, now: boolean): void => { if (now) q.add('ns/a'); else for (let i = 0; i < 5; i++) q.resync('ns/a'); }],
    ['a sweep without and with now', (q: WorkQueue, now: boolean): void => { q.sweep([{ namespace: 'ns', keys: ['ns/a'], count: 1 }], now); }],
  ])('lets a resync wait out a pending backoff, while a change cuts it short: %s', async (_, again) => {
    let calls = 0;
    const q = new WorkQueue(() => {
      calls++;
      return Promise.reject(Object.assign(new Error('secret not owned'), { retryBaseMs: 60_000 }));
    }, { workers: 1, baseDelayMs: 5, maxDelayMs: 600_000 });
    q.add('ns/a');
    await q.idle();
    expect(calls).toBe(1);
    again(q, false);
    await sleep(20);
    await q.idle();
    expect(calls).toBe(1);
    again(q, true);
    await sleep(20);
    await q.idle();
    q.stop();
    expect(calls).toBe(2);
  });
});
