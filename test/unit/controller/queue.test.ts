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
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(k);
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
});
