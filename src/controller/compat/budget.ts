/**
 * The compatibility mode's budget of RSA private operations per namespace
 * (`--compat-rsa-per-namespace-per-minute`, docs/SECURITY.md 1a.8). Each
 * Sealed Secrets value wraps a session key of its own and names no key, so
 * a SealedSecret of ~2,000 values that open costs ~2,000 RSA operations at
 * its first reconcile and whenever its session keys leave the data-key
 * cache; the work queue's turns over namespaces bound the workers one
 * namespace holds, not the RSA time it takes. Here each namespace has a
 * token bucket (src/kube/token-bucket.ts): `perMinute` tokens a minute, at
 * most `perMinute` at once, one taken before each RSA private operation of
 * its compat reconciles. A namespace without tokens has its reconciles
 * deferred until its bucket has refilled; other namespaces go on at full
 * speed. Session keys already unwrapped stay in the data-key cache, so a
 * deferred SealedSecret resumes where it stopped.
 */
import { SealboxError } from '../../errors.js';
import { TokenBucket, monotonicMs } from '../../kube/token-bucket.js';

/**
 * Default of `--compat-rsa-per-namespace-per-minute`: 6,000, half of one
 * core's RSA time (an RSA-4096 private operation takes ~5 ms here: 3.3 ms
 * idle, 7 ms under load), so a tenant cannot take more than that, and a
 * namespace whose SealedSecrets all need unsealing at once at start-up
 * (e.g. 500 of 10 values with two keys to try) is not slowed.
 */
export const COMPAT_RSA_PER_NAMESPACE_PER_MINUTE = 6000;

/**
 * Default session keys the compatibility mode keeps unwrapped: every value
 * of a resync is a hit below this many values in all, and a tenant at its
 * budget adds 60,000 between two resyncs of 10 minutes, so other
 * namespaces' keys outlive that too (docs/SECURITY.md 1a.8).
 */
export const COMPAT_DATA_KEY_CACHE_SIZE = 100_000;

/**
 * The budget's period: tokens are granted per minute, and a bucket refills
 * from empty within one, so no closure outlasts it.
 */
const MINUTE_MS = 60_000;

/** Shortest wait before a deferred SealedSecret is tried again. */
const MIN_RETRY_MS = 1000;

/** How often buckets that have refilled (a full bucket is a new one) are forgotten. */
const SWEEP_MS = 60_000;

/** The status, event and error message of a deferred SealedSecret: no value, no key. */
export function overBudgetMessage(namespace: string, perMinute: number): string {
  return `namespace "${namespace}" is over its unseal budget of ${String(perMinute)} RSA operations a minute (--compat-rsa-per-namespace-per-minute); this SealedSecret is unsealed again once the budget has refilled, within a minute`;
}

/**
 * A compat reconcile deferred because its namespace is over its budget:
 * the work queue retries it after `retryAfterMs` (the time its namespace's
 * bucket takes to refill), not after its usual backoff.
 */
export class OverBudget extends SealboxError {
  readonly namespace: string;
  readonly retryAfterMs: number;
  /** The queue backs off from here, so a deferral waits `retryAfterMs`, not the base second. */
  readonly retryBaseMs: number;

  constructor(namespace: string, perMinute: number, retryAfterMs: number) {
    super('REFUSED', overBudgetMessage(namespace, perMinute));
    this.namespace = namespace;
    this.retryAfterMs = retryAfterMs;
    this.retryBaseMs = retryAfterMs;
  }
}

/** The per-namespace budgets of RSA private operations; `perMinute` 0: none. */
export class UnsealBudget {
  readonly perMinute: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, TokenBucket>();
  /**
   * Namespaces that ran out, and when their bucket is full again: closed
   * until then (attack20: deferred SealedSecrets that each came back as soon
   * as one token had refilled GET their whole object, up to 1.5 MB, and
   * recorded an event about once per token).
   */
  readonly #closed = new Map<string, number>();
  #swept: number;

  /** `now` is the clock in milliseconds: a monotonic one unless a test gives its own (attack21). */
  constructor(perMinute: number, now: () => number = monotonicMs) {
    this.perMinute = perMinute;
    this.#now = now;
    this.#swept = now();
  }

  /**
   * Throws OverBudget when `namespace` has less than one token left: called
   * before a reconcile's first API request, so a deferral costs none.
   */
  check(namespace: string): void {
    const b = this.#buckets.get(namespace);
    if (this.perMinute > 0 && b !== undefined && (b.available() < 1 || this.#isClosed(namespace))) throw this.#over(namespace, b);
  }

  #isClosed(namespace: string): boolean {
    return this.#now() < this.#closedUntil(namespace);
  }

  /**
   * When `namespace` opens again (0: open). A closure never lasts longer
   * than a refill from empty, one minute: a later time means the clock went
   * back, and the closure is dropped rather than kept for the step.
   */
  #closedUntil(namespace: string): number {
    const until = this.#closed.get(namespace) ?? 0;
    if (until - this.#now() <= MINUTE_MS) return until;
    this.#closed.delete(namespace);
    return 0;
  }

  /**
   * Returns the function to call before each RSA private operation for
   * `namespace`: it takes a token, or throws OverBudget when none is left;
   * the namespace is then closed until its bucket is full again.
   */
  charger(namespace: string): () => void {
    return () => {
      if (this.perMinute <= 0) return;
      const b = this.#bucket(namespace);
      if (!b.tryTake()) throw this.#over(namespace, b);
    };
  }

  /** Namespaces whose bucket is remembered (not full, or not swept yet). */
  get size(): number {
    return this.#buckets.size;
  }

  /** The deferral of `namespace`, closed until its bucket is full (or as long as it already is). */
  #over(namespace: string, b: TokenBucket): OverBudget {
    const now = this.#now();
    const until = Math.max(this.#closedUntil(namespace), now + Math.ceil(((b.burst - b.available()) * MINUTE_MS) / this.perMinute));
    this.#closed.set(namespace, until);
    return new OverBudget(namespace, this.perMinute, Math.max(MIN_RETRY_MS, until - now));
  }

  #bucket(namespace: string): TokenBucket {
    const sinceSweep = this.#now() - this.#swept;
    if (sinceSweep >= SWEEP_MS || sinceSweep < 0) this.#sweep();
    let b = this.#buckets.get(namespace);
    if (b === undefined) {
      b = new TokenBucket(this.perMinute / 60, this.perMinute, this.#now);
      this.#buckets.set(namespace, b);
    }
    return b;
  }

  /** Forgets full buckets: a namespace with none starts full, so nothing is lost. */
  #sweep(): void {
    this.#swept = this.#now();
    for (const [namespace, b] of this.#buckets) if (b.available() >= b.burst) this.#buckets.delete(namespace);
    for (const [namespace, until] of this.#closed) if (until <= this.#swept) this.#closed.delete(namespace);
  }
}
