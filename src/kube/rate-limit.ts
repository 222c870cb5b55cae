/** The client-side request budget of KubeApi. */

/**
 * Token bucket: `qps` requests a second on average, bursts of `burst`.
 * Callers get tokens in the order they asked (FIFO), so a request never
 * waits behind more than the requests queued before it.
 */
export class RateLimiter {
  #tokens: number;
  #last = Date.now();
  readonly #qps: number;
  readonly #burst: number;
  #tail: Promise<void> = Promise.resolve();
  constructor(qps: number, burst: number) {
    this.#qps = qps;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const turn = this.#tail.then(() => this.#next());
    this.#tail = turn;
    return turn;
  }

  async #next(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) / this.#qps) * 1000)));
    }
  }
}
