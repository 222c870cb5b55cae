/**
 * List + watch + cache of one kind of object in one scope, as client-go's
 * reflector does it (it replaces client-node's makeInformer, whose list was
 * one request parsed whole: issue 17).
 *
 * - The initial list streams where the API server serves it (a watch with
 *   `sendInitialEvents=true`, ended by the bookmark annotated
 *   `k8s.io/initial-events-end`), one object per line; where it is refused
 *   (HTTP 400/422: the WatchList feature is off) or silent (STREAM_IDLE_MS),
 *   it comes in pages (`limit`/`continue`). Either way each object becomes
 *   its cache entry before the next is read: the list is never all in memory.
 * - The cache holds only what `keep` returns, and callbacks get that form
 *   (InformerCache, src/kube/informer-cache.ts).
 * - An initial list replaces the cache: what it did not deliver is deleted.
 * - The watch resumes from the last resourceVersion seen (events and
 *   bookmarks); an expired one (410, as an HTTP status, an ERROR event, or
 *   on a `continue` token) starts a clean list. Other failures go to
 *   'error' and the loop stops: the caller restarts it with start() after
 *   its backoff (src/controller/informers.ts).
 */
import type * as k8s from '@kubernetes/client-node';
import { truncate } from '../errors.js';
import { KubeError } from './errors.js';
import type { ListWatchSource } from './pager.js';
import { listInPages } from './pager.js';
import type { CacheVerb, Unseen } from './informer-cache.js';
import { InformerCache } from './informer-cache.js';
import type { KubeInformer } from './types.js';
import type { WatchEnd, WatchEvent, WatchStream } from './watch-stream.js';
import { openWatch } from './watch-stream.js';

/** How a ListWatch treats what it receives. */
export interface ListWatchOptions<F, C> {
  /**
   * The cache entry of a full object, given the entry it replaces (so that
   * it can keep that entry's strings): the cache holds nothing else. An
   * entry's `metadata.resourceVersion`, if it has one, lets an object
   * delivered again unchanged (a relist) be no update.
   */
  readonly keep: (obj: F, old: C | undefined) => C;
  /** Called once per request sent (a list page, a watch), for metrics. */
  readonly onRequest?: (verb: string, resource: string) => void;
  /**
   * Called with each full object of an initial list (paged or streamed),
   * before `keep` sees it and before it enters the cache; the next object
   * is not read until the returned promise settles (back-pressure).
   */
  readonly onListed?: (obj: F) => void | Promise<void>;
  /** Called when a resourceVersion or continue token expired (410) and the list starts again. */
  readonly onExpired?: () => void;
  /** Try the streaming initial list first (default true). */
  readonly stream?: boolean;
  /** Silence (while no event is handled) that makes a streaming initial list fall back to pages (default STREAM_IDLE_MS). */
  readonly streamIdleMs?: number;
}

/**
 * A streamed initial list comes as fast as it is read, its end bookmark right
 * after the last object: a minute's silence means a server that never ends it
 * (start() waited 30-60 min, then streamed again: never synced; attack17).
 */
export const STREAM_IDLE_MS = 60_000;

const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** The kubeconfig's credentials could not be had (e.g. its exec plugin failed). */
class CredentialsError extends KubeError {}

/** List + watch + cache of one kind in one scope; see the module comment. */
export class ListWatch<F extends k8s.KubernetesObject, C> implements KubeInformer<C> {
  readonly #kc: k8s.KubeConfig;
  readonly #src: ListWatchSource<F>;
  readonly #o: ListWatchOptions<F, C>;
  readonly #cache: InformerCache<F, C>;
  readonly #onError: ((e?: unknown) => void)[] = [];
  /** Where the watch resumes; '' when a list is needed. */
  #rv = '';
  /** Bumped by start() and stop(): a loop of an older generation stops. */
  #gen = 0;
  #stopped = true;
  #watch: WatchStream | undefined;
  #streamRefused: boolean;
  /** Set while a streaming initial list is in progress (empty at a cold start). */
  #unseen: Unseen | undefined;
  /** What the last watch's ERROR event said, if it had one. */
  #watchError: { code: number; message: string } | undefined;
  #events = 0;
  #synced: (() => void) | undefined;

  constructor(kc: k8s.KubeConfig, source: ListWatchSource<F>, options: ListWatchOptions<F, C>) {
    this.#kc = kc;
    this.#src = source;
    this.#o = options;
    this.#cache = new InformerCache(options.keep);
    this.#streamRefused = options.stream === false;
  }

  /** Registers a callback; cache callbacks get the cached form (what `keep` returned). */
  on(verb: CacheVerb, cb: (obj: C) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  on(verb: CacheVerb | 'error', cb: ((obj: C) => void) | ((err?: unknown) => void)): void {
    if (verb === 'error') this.#onError.push(cb as (err?: unknown) => void);
    else this.#cache.on(verb, cb);
  }

  /** The cached entry, or undefined. */
  get(name: string, namespace?: string): C | undefined {
    return this.#cache.get(namespace ?? '', name);
  }

  /** Every cached entry, or those of one namespace. */
  list(namespace?: string): C[] {
    return this.#cache.list(namespace);
  }

  /** The resourceVersion the watch resumes from ('' before the first list). */
  get resourceVersion(): string {
    return this.#rv;
  }

  /**
   * Lists (unless a watch can resume), then watches in the background.
   * Resolves once the initial list is in the cache, or once it failed (the
   * failure goes to 'error'). Rejects only when the kubeconfig's credentials
   * cannot be had before the list is in (as client-node's informer did); a
   * later failure goes to 'error'.
   */
  async start(): Promise<void> {
    this.#stopped = false;
    const gen = ++this.#gen;
    this.#watch?.abort();
    let failure: Error | undefined;
    await new Promise<void>((resolve) => {
      this.#synced = resolve;
      void this.#loop(gen, (err) => { failure = err; }).finally(resolve);
    });
    if (failure !== undefined) throw failure;
  }

  /** Stops watching; the cache stays as it is. */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#gen++;
    this.#watch?.abort();
    this.#watch = undefined;
    this.#synced?.();
    return Promise.resolve();
  }

  #live(gen: number): boolean {
    return !this.#stopped && gen === this.#gen;
  }

  async #loop(gen: number, reject: (err: Error) => void): Promise<void> {
    try {
      while (this.#live(gen)) {
        if (this.#rv === '' && this.#streamRefused) await this.#listPages(gen);
        if (!this.#live(gen)) return;
        const started = Date.now();
        const end = await this.#watchOnce(gen);
        if (!this.#live(gen)) return;
        this.#afterWatch(end, Date.now() - started);
      }
    } catch (err) {
      if (!this.#live(gen)) return;
      if (err instanceof CredentialsError && this.#synced !== undefined) reject(err);
      else for (const cb of this.#onError) cb(err);
    }
  }

  /** Decides what follows a watch: returns to watch or list again, or throws the failure. */
  #afterWatch(end: WatchEnd, ms: number): void {
    const streaming = this.#unseen !== undefined;
    this.#unseen = undefined;
    const error = this.#watchError;
    this.#watchError = undefined;
    if (streaming && end.kind === 'idle') {
      this.#streamRefused = true;
      return;
    }
    if ((end.kind === 'http' && end.status === 410) || error?.code === 410) {
      this.#expired();
      return;
    }
    const what = `watch ${this.#src.resource} in ${this.#src.namespace ?? 'all namespaces'}`;
    if (error !== undefined) throw new KubeError(error.code, `${what}: ${error.message}`);
    if (end.kind === 'http') {
      // a server without the WatchList feature refuses sendInitialEvents as invalid
      if (streaming && (end.status === 400 || end.status === 422)) this.#streamRefused = true;
      else throw new KubeError(end.status, `${what}: HTTP ${String(end.status)}${end.message === '' ? '' : `: ${end.message}`}`);
      return;
    }
    if (end.kind === 'credentials') throw new CredentialsError(0, `${what}: the kubeconfig's credentials could not be had: ${truncate(end.message, 300)}`);
    if (end.kind === 'failed') throw new KubeError(0, `${what}: ${end.message}`);
    if (streaming) throw new KubeError(0, `${what}: the stream ended before the initial list did; starting it again`);
    if (this.#events === 0 && ms < 1000) throw new KubeError(0, `${what}: the API server closed the watch at once`);
  }

  #expired(): void {
    this.#rv = '';
    this.#o.onExpired?.();
  }

  async #watchOnce(gen: number): Promise<WatchEnd> {
    const q: Record<string, string> = { allowWatchBookmarks: 'true' };
    if (this.#src.labelSelector !== undefined) q.labelSelector = this.#src.labelSelector;
    if (this.#rv === '') {
      // 6 h: the server's default (30-60 min) ended a back-pressured list of 40,000 after 33 min; it started over
      Object.assign(q, { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', timeoutSeconds: String(6 * 3600) });
      this.#unseen = this.#cache.unseen();
    } else {
      // as client-go: 5 to 10 minutes, so that watches of many replicas do not end together
      Object.assign(q, { resourceVersion: this.#rv, timeoutSeconds: String(300 + Math.floor(Math.random() * 300)) });
    }
    this.#events = 0;
    this.#o.onRequest?.('watch', this.#src.resource);
    const w = openWatch(this.#kc, this.#src.path, q, (e) => this.#onEvent(gen, e), this.#unseen === undefined ? undefined : this.#o.streamIdleMs ?? STREAM_IDLE_MS);
    this.#watch = w;
    const end = await w.ended;
    if (this.#watch === w) this.#watch = undefined;
    return end;
  }

  async #onEvent(gen: number, e: WatchEvent): Promise<void> {
    if (!this.#live(gen)) return;
    this.#events++;
    if (e.type === 'ERROR') {
      const s = e.object as { code?: unknown; message?: unknown };
      this.#watchError = { code: typeof s.code === 'number' ? s.code : 0, message: typeof s.message === 'string' ? s.message : 'error event' };
      return;
    }
    const obj = e.object as F;
    const unseen = this.#unseen;
    if (e.type === 'BOOKMARK') {
      if (unseen !== undefined && obj.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') this.#replaced(unseen, obj.metadata.resourceVersion ?? '');
      else if (unseen === undefined) this.#rv = obj.metadata?.resourceVersion ?? this.#rv;
      return;
    }
    if (e.type === 'DELETED') {
      if (unseen !== undefined) InformerCache.seen(unseen, obj);
      this.#cache.remove(obj);
    } else if (unseen !== undefined) {
      await this.#listed(obj, unseen);
    } else {
      this.#cache.put(obj);
    }
    // the objects of an initial list carry their own, older versions: the list's is its bookmark's
    if (unseen === undefined) this.#rv = obj.metadata?.resourceVersion ?? this.#rv;
  }

  /** A paged list (src/kube/pager.ts), then the cache is replaced by what it delivered. */
  async #listPages(gen: number): Promise<void> {
    let unseen = this.#cache.unseen();
    const rv = await listInPages(this.#src, {
      onRequest: () => this.#o.onRequest?.('list', this.#src.resource),
      onRestart: () => { unseen = this.#cache.unseen(); this.#o.onExpired?.(); },
      onObject: (obj) => {
        // stopped or restarted meanwhile: end this list (#loop reports nothing for a dead generation)
        if (!this.#live(gen)) throw new KubeError(0, `list ${this.#src.resource}: stopped`);
        return this.#listed(obj, unseen);
      },
    });
    if (this.#live(gen)) this.#replaced(unseen, rv);
  }

  async #listed(obj: F, unseen: Unseen): Promise<void> {
    InformerCache.seen(unseen, obj);
    await this.#o.onListed?.(obj);
    this.#cache.put(obj);
  }

  /** Ends an initial list: deletes what it did not deliver and resumes watching from `rv`. */
  #replaced(unseen: Unseen, rv: string): void {
    this.#cache.replaced(unseen);
    this.#unseen = undefined;
    this.#watch?.allowSilence();
    this.#rv = rv;
    this.#synced?.();
    this.#synced = undefined;
  }
}
