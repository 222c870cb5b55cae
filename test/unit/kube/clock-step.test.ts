import { describe, expect, it } from 'vitest';
import { UnsealBudget } from '../../../src/controller/compat/budget.js';
import { TokenBucket } from '../../../src/kube/token-bucket.js';

// attack21 (noticed, not from 79cfc55: TokenBucket has read Date.now since it
// was written). A wall clock stepped back (NTP, a VM resumed) makes the
// elapsed time negative: the bucket loses that many seconds of tokens, so
// every remembered bucket is empty for as long as the step. KubeApi's
// client-side limiter (src/kube/api.ts) is one: every API request of the
// controller then waits that long. Not a tenant's doing; a monotonic clock
// (performance.now) or a negative elapsed time taken as 0 would fix it.
describe('a wall clock stepped back (attack21)', () => {
  it('leaves a token bucket its tokens', () => {
    let t = 1_000_000_000;
    const b = new TokenBucket(50, 100, () => t);
    expect(b.tryTake()).toBe(true);
    t -= 3_600_000; // one hour back
    expect(b.tryTake()).toBe(true);
  });

  it('does not close a namespace of the compat RSA budget for as long as the step', () => {
    let t = 1_000_000_000;
    const budget = new UnsealBudget(6000, () => t);
    budget.charger('honest')(); // one RSA operation, well within the budget
    t -= 3_600_000;
    expect(() => { budget.check('honest'); }).not.toThrow();
  });
});
