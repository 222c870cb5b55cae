import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/kube/token-bucket.js';

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('TokenBucket', () => {
  it('starts full: exactly the burst passes at once, then the next is refused', () => {
    const c = clock();
    const b = new TokenBucket(2, 5, c.now);
    expect(Array.from({ length: 6 }, () => b.tryTake())).toEqual([true, true, true, true, true, false]);
  });

  it('refills at its rate and never above its burst', () => {
    const c = clock();
    const b = new TokenBucket(4, 3, c.now);
    for (let i = 0; i < 3; i++) b.tryTake();
    c.advance(249);
    expect(b.tryTake()).toBe(false); // 0.996 of a token
    c.advance(1);
    expect(b.tryTake()).toBe(true);
    c.advance(60_000);
    expect(Array.from({ length: 4 }, () => b.tryTake())).toEqual([true, true, true, false]);
  });

  it('makes waiting callers wait for tokens, served in the order they asked', async () => {
    const b = new TokenBucket(50, 2);
    const order: number[] = [];
    const start = Date.now();
    await Promise.all([1, 2, 3, 4].map((i) => b.take().then(() => order.push(i))));
    expect(order).toEqual([1, 2, 3, 4]);
    // the burst of 2 at once, then one token per 20 ms
    expect(Date.now() - start).toBeGreaterThanOrEqual(35);
  });
});
