/**
 * The informers of one kind of object (list + watch + cache), one per watched
 * scope, started, stopped and restarted in one place. The controller's sealed
 * resources and Secrets and the key manager's key Secrets all go through it.
 *
 * How a scope is listed and watched, and what its cache keeps, is the `open`
 * function's business (the KubeApi informers: src/kube/list-watch.ts, which
 * streams or pages the initial list and relists by itself when a
 * resourceVersion expires); when and how often a failed one is tried again
 * is this module's.
 */
import type { KubeInformer } from '../kube/types.js';
import type { Logger } from './log.js';

/** What Informers needs of one scope's informer: KubeApi's informers (src/kube/list-watch.ts). */
export type ScopeInformer<T> = KubeInformer<T>;

/** Delays between restarts of a failed list/watch. */
export interface BackoffOptions {
  /** First delay. */
  readonly initialMs: number;
  /** Longest delay before jitter. */
  readonly maxMs: number;
  readonly factor: number;
  /** Each delay is stretched by a random share of itself, up to this (1: up to double). */
  readonly jitter: number;
  /** A failure this long after the previous one starts again from `initialMs`. */
  readonly resetAfterMs: number;
}

/**
 * client-go's reflector backoff (NewExponentialBackoffManager(800ms, 30s,
 * 2m, 2.0, 1.0)): 800 ms doubling up to 30 s, each delay up to twice as long
 * at random so that replicas and scopes do not retry in step, back to 800 ms
 * after two quiet minutes.
 */
export const REFLECTOR_BACKOFF: BackoffOptions = { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1, resetAfterMs: 120_000 };

/** Exponential backoff with a cap, jitter, and a reset after a quiet spell. */
export class Backoff {
  readonly #o: BackoffOptions;
  readonly #random: () => number;
  readonly #now: () => number;
  #base: number;
  #last = Number.NEGATIVE_INFINITY;

  /** `random` (in [0, 1)) and `now` (ms) default to Math.random and Date.now. */
  constructor(o: BackoffOptions, random: () => number = Math.random, now: () => number = Date.now) {
    this.#o = o;
    this.#random = random;
    this.#now = now;
    this.#base = o.initialMs;
  }

  /** Returns the delay before the next attempt, and grows the one after it. */
  next(): number {
    const now = this.#now();
    if (now - this.#last > this.#o.resetAfterMs) this.#base = this.#o.initialMs;
    this.#last = now;
    const base = this.#base;
    this.#base = Math.min(base * this.#o.factor, this.#o.maxMs);
    return Math.round(base * (1 + this.#o.jitter * this.#random()));
  }
}

/** Options of Informers. */
export interface InformersOptions<T> {
  /** What is watched, as logs name it: "sealedsecrets", "secrets", "key secrets". */
  readonly kind: string;
  /** Namespaces to watch, `undefined` for the whole cluster. */
  readonly scopes: readonly (string | undefined)[];
  /** Makes the (not yet started) informer of one scope. */
  readonly open: (namespace: string | undefined) => ScopeInformer<T>;
  readonly log: Logger;
  readonly onAdd?: (obj: T) => void;
  readonly onUpdate?: (obj: T) => void;
  readonly onDelete?: (obj: T) => void;
  /** Default REFLECTOR_BACKOFF. */
  readonly backoff?: BackoffOptions;
  /** For tests: the jitter's random source (default Math.random). */
  readonly random?: () => number;
}

interface Scope<T> {
  readonly informer: ScopeInformer<T>;
  readonly backoff: Backoff;
  restart: NodeJS.Timeout | undefined;
}

/**
 * The informers of one kind across its scopes. They exist from construction
 * (empty caches), so get() and list() are safe to call at any time. A failed
 * list or watch is restarted after a backoff (REFLECTOR_BACKOFF), again and
 * again until stop(), including when the restart itself throws.
 */
export class Informers<T> {
  readonly #o: InformersOptions<T>;
  readonly #scopes: Scope<T>[];
  #stopped = false;

  constructor(o: InformersOptions<T>) {
    this.#o = o;
    this.#scopes = o.scopes.map((ns) => this.#open(ns));
  }

  #open(namespace: string | undefined): Scope<T> {
    const scope: Scope<T> = { informer: this.#o.open(namespace), backoff: new Backoff(this.#o.backoff ?? REFLECTOR_BACKOFF, this.#o.random), restart: undefined };
    const { onAdd, onUpdate, onDelete } = this.#o;
    if (onAdd !== undefined) scope.informer.on('add', onAdd);
    if (onUpdate !== undefined) scope.informer.on('update', onUpdate);
    if (onDelete !== undefined) scope.informer.on('delete', onDelete);
    scope.informer.on('error', (err) => { this.#failed(scope, err); });
    return scope;
  }

  /**
   * Starts every scope; resolves once each has made its first attempt at
   * listing (a failed one is being retried). Rejects only when the client
   * itself throws, e.g. its credentials cannot be loaded.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    await Promise.all(this.#scopes.map((s) => s.informer.start()));
  }

  /** Stops every scope and any restart still waiting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const s of this.#scopes) clearTimeout(s.restart);
    await Promise.all(this.#scopes.map((s) => s.informer.stop()));
  }

  /** The cached object, or undefined. */
  get(namespace: string, name: string): T | undefined {
    for (const s of this.#scopes) {
      const obj = s.informer.get(name, namespace);
      if (obj !== undefined) return obj;
    }
    return undefined;
  }

  /** Every cached object of every scope. */
  list(): T[] {
    return this.#scopes.flatMap((s) => s.informer.list());
  }

  /** Schedules one restart of the scope; an error while one waits changes nothing. */
  #failed(scope: Scope<T>, err: unknown): void {
    if (this.#stopped || scope.restart !== undefined) return;
    const delay = scope.backoff.next();
    this.#o.log.warn({ kind: this.#o.kind, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'watch failed; restarting');
    scope.restart = setTimeout(() => {
      scope.restart = undefined;
      if (this.#stopped) return;
      scope.informer.start().catch((e: unknown) => { this.#failed(scope, e); });
    }, delay);
  }
}

/**
 * Returns the KubeApi `onExpired` hook: an informer lists again after a 410
 * (its resourceVersion or continue token expired). Now and then that is
 * normal (etcd compaction, an API server restart, a CRD update); repeated,
 * it is a problem, and at scale each is a list of every object. So one info
 * line (resource and scope, nothing else) and one count in `relists` each time.
 */
export function relistReporter(log: Logger, relists: { inc(labels: { resource: string }): void }): (resource: string, namespace: string | undefined) => void {
  return (resource, namespace) => {
    relists.inc({ resource });
    log.info({ resource, namespace: namespace ?? 'all namespaces' }, 'resourceVersion expired (HTTP 410); listing again');
  };
}
