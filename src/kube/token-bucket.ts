/**
 * The one token bucket: KubeApi's client-side QPS/burst limit (api.ts) waits
 * for a token, the controller's re-wrap endpoint (src/controller/admission.ts)
 * refuses without one (429). It sits here, below src/controller, because the
 * API client needs it too.
 */

/** Milliseconds on a clock that never goes back (performance.now). */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * Token bucket: `rate` tokens a second on average, at most `burst` at once;
 * it starts full. {@link TokenBucket.take} waits for a token, in the order
 * callers asked (FIFO), so a caller never waits behind more than the callers
 * queued before it; {@link TokenBucket.tryTake} answers at once.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #tail: Promise<void> = Promise.resolve();

  /**
   * `now` is the clock in milliseconds: a monotonic one unless a test gives
   * its own (attack21: on the wall clock, a step back by NTP or a resumed VM
   * emptied the bucket for as long as the step, and KubeApi's limiter held
   * every request of the controller that long).
   */
  constructor(rate: number, burst: number, now: () => number = monotonicMs) {
    this.rate = rate;
    this.burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes `count` tokens (default 1) if there are as many; returns false (and takes nothing) otherwise. */
  tryTake(count = 1): boolean {
    this.#refill();
    if (this.#tokens < count) return false;
    this.#tokens -= count;
    return true;
  }

  /** The tokens there are now (a fraction counts as part of one). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Resolves once a token is taken, after every caller that asked before. */
  take(): Promise<void> {
    const turn = this.#tail.then(() => this.#wait());
    this.#tail = turn;
    return turn;
  }

  async #wait(): Promise<void> {
    while (!this.tryTake()) {
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) / this.rate) * 1000)));
    }
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last); // a clock that went back gives nothing, takes nothing
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.rate);
    this.#last = now;
  }
}
