/**
 * Who gets in, for the controller's HTTP endpoints: places counted per client
 * and overall (bodies being read, re-wrap requests in progress) and the
 * re-wrap endpoint's rate limits. A refused caller costs nothing.
 */
import { TokenBucket } from '../kube/token-bucket.js';

/** Counts of things in progress, per client and overall; a refused caller costs nothing. */
export class ConcurrencyGate {
  readonly #active = new Map<string, number>();
  #total = 0;

  constructor(readonly overall: number, readonly perClient: number) {}

  /** Returns the function that frees the place, or undefined when there is none. */
  take(client: string): (() => void) | undefined {
    const mine = this.#active.get(client) ?? 0;
    if (this.#total >= this.overall || mine >= this.perClient) return undefined;
    this.#total++;
    this.#active.set(client, mine + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#total--;
      const n = (this.#active.get(client) ?? 1) - 1;
      if (n === 0) this.#active.delete(client);
      else this.#active.set(client, n);
    };
  }
}

/** Limits of a {@link RewrapGate}. */
export interface GateLimits {
  /** Requests in progress at once, overall. */
  readonly concurrency: number;
  /** Requests in progress at once per client. */
  readonly perClientConcurrency: number;
  /** Requests per second overall (burst twice that). */
  readonly rate: number;
  /** Requests per second per client (burst twice that). */
  readonly perClientRate: number;
}

/** Clients whose buckets are remembered; the oldest is forgotten first. */
const MAX_CLIENTS = 4096;

/**
 * Admission of re-wrap requests: a request gets a slot only when both its
 * client and the whole server are within their concurrency and rate limits,
 * so that one client cannot take every slot.
 */
export class RewrapGate {
  readonly #limits: GateLimits;
  readonly #slots: ConcurrencyGate;
  readonly #global: TokenBucket;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(limits: GateLimits) {
    this.#limits = limits;
    this.#slots = new ConcurrencyGate(limits.concurrency, limits.perClientConcurrency);
    this.#global = new TokenBucket(limits.rate, limits.rate * 2);
  }

  /** Returns the function that frees the slot, or undefined when the request must wait (429). */
  admit(client: string): (() => void) | undefined {
    const release = this.#slots.take(client);
    if (release === undefined) return undefined;
    // A request without a slot spends no token; one refused for its rate keeps no slot.
    if (this.#bucket(client).tryTake() && this.#global.tryTake()) return release;
    release();
    return undefined;
  }

  /**
   * Takes `tokens` more from the client's bucket and the overall one, for
   * an admitted request that turned out to cost as much as several (a
   * kubeseal request of many values); returns false, taking none, when
   * either bucket has fewer.
   */
  charge(client: string, tokens: number): boolean {
    if (tokens <= 0) return true;
    const mine = this.#bucket(client);
    if (mine.available() < tokens || this.#global.available() < tokens) return false;
    return mine.tryTake(tokens) && this.#global.tryTake(tokens);
  }

  #bucket(client: string): TokenBucket {
    let b = this.#buckets.get(client);
    if (b === undefined) {
      if (this.#buckets.size >= MAX_CLIENTS) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = new TokenBucket(this.#limits.perClientRate, this.#limits.perClientRate * 2);
      this.#buckets.set(client, b);
    }
    return b;
  }
}

/**
 * Returns who a request comes from: the peer address, and behind the API
 * server's service proxy (which appends the caller's address to
 * X-Forwarded-For) the last address of that header. A pod that connects
 * directly may write any X-Forwarded-For: the overall limits still bound it.
 */
export function clientOf(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor ?? '';
  const last = header.split(',').pop()?.trim().slice(0, 64) ?? '';
  return last === '' ? peer ?? '' : `${peer ?? ''}>${last}`;
}
