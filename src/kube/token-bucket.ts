/**
 * The one token bucket: KubeApi's client-side QPS/burst limit (api.ts) waits
 * for a token, the controller's re-wrap endpoint (src/controller/admission.ts)
 * refuses without one (429). It sits here, below src/controller, because the
 * API client needs it too.
 */

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

  /** `now` is the clock in milliseconds (Date.now unless a test gives its own). */
  constructor(rate: number, burst: number, now: () => number = Date.now) {
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
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
  }
}
