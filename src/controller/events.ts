import { createHash, randomBytes } from 'node:crypto';
import { truncate } from '../errors.js';
import type { KubeApi } from '../kube/api.js';
import type { SealedSecretObject } from '../kube/types.js';
import type { Logger } from './log.js';

/** How long the same event for the same object is not repeated. */
const DEDUPE_MS = 10 * 60_000;
/** Longest event message recorded. */
const MESSAGE_CHARS = 1024;
/**
 * What one remembered event costs: a 43-character digest key (a one-byte
 * string with its header), a number, and the map's own entry. Every entry
 * costs the same, whatever the message, because the key is a digest.
 */
export const DEDUPE_ENTRY_BYTES = 160;

/**
 * Remembers which events were recorded lately, within a memory budget: keys
 * are SHA-256 digests of (object, generation, type, reason, message), so an
 * attacker-chosen message costs no more than a short one; expired entries go
 * first, then the oldest, once the budget is reached.
 */
export class RecentEvents {
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #seen = new Map<string, number>();

  constructor(maxBytes: number, ttlMs = DEDUPE_MS) {
    this.#maxEntries = Math.max(1, Math.floor(maxBytes / DEDUPE_ENTRY_BYTES));
    this.#ttlMs = ttlMs;
  }

  /** Bytes in use, by the accounting above. */
  get bytes(): number {
    return this.#seen.size * DEDUPE_ENTRY_BYTES;
  }

  /** True when `parts` were seen within the last ttl; otherwise remembers them and returns false. */
  seen(parts: readonly (string | number)[], now = Date.now()): boolean {
    const hash = createHash('sha256');
    for (const p of parts) hash.update(`${String(p).length}:${String(p)}\0`);
    const key = hash.digest('base64url');
    const last = this.#seen.get(key);
    if (last !== undefined && now - last < this.#ttlMs) return true;
    this.#seen.delete(key); // re-insert at the end: the map's order is the age order
    this.#seen.set(key, now);
    if (this.#seen.size > this.#maxEntries) this.#evict(now);
    return false;
  }

  /** Drops expired entries; if none has expired, the oldest ones (a repeat event at worst). */
  #evict(now: number): void {
    for (const [k, t] of this.#seen) if (now - t >= this.#ttlMs) this.#seen.delete(k);
    for (const k of this.#seen.keys()) {
      if (this.#seen.size <= this.#maxEntries) return;
      this.#seen.delete(k);
    }
  }
}

/** Where an EventRecorder sends its Events: the API client, or a test's recorder. */
export type EventSink = Pick<KubeApi, 'createEvent'>;

/** Which Events the controller records: every one, or Warning Events only (`--events`). */
export type EventTypes = 'all' | 'warnings';

/** Options of EventRecorder. */
export interface EventRecorderOptions {
  /** 'warnings' records no Normal Events (Created, Updated, Recreated); default 'all'. */
  readonly types?: EventTypes;
  /** Memory the de-duplication may use (default 1 MiB). */
  readonly dedupeBytes?: number;
  /** Called with the bytes in use after each event, for a gauge. */
  readonly onDedupeBytes?: (bytes: number) => void;
}

/**
 * Records core/v1 Events on sealed resources. The same reason and message
 * for the same object is recorded once per ten minutes, so retries with
 * backoff do not flood the API server; that memory is bounded in bytes.
 * Normal Events can be turned off (one API write per synced Secret fewer);
 * Warning Events are always recorded. Failures to record are logged only.
 */
export class EventRecorder {
  readonly #api: EventSink;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #recent: RecentEvents;
  readonly #onBytes: ((bytes: number) => void) | undefined;
  readonly #normal: boolean;
  /** Event names are `<object>.<this prefix><counter>`: unique without a random draw per event. */
  readonly #namePrefix = randomBytes(4).toString('hex');
  #count = 0;

  constructor(api: EventSink, log: Logger, instance: string, opts: EventRecorderOptions = {}) {
    this.#api = api;
    this.#log = log;
    this.#instance = instance;
    this.#recent = new RecentEvents(opts.dedupeBytes ?? 1024 * 1024);
    this.#onBytes = opts.onDedupeBytes;
    this.#normal = (opts.types ?? 'all') === 'all';
  }

  /** Records a Warning Event (always). */
  async warning(obj: SealedSecretObject, reason: string, message: string): Promise<void> {
    await this.#record(obj, 'Warning', reason, message);
  }

  /** Records a Normal Event, unless the recorder records Warning Events only. */
  async normal(obj: SealedSecretObject, reason: string, message: string): Promise<void> {
    if (this.#normal) await this.#record(obj, 'Normal', reason, message);
  }

  async #record(obj: SealedSecretObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const now = Date.now();
    const text = truncate(message, MESSAGE_CHARS);
    const repeated = this.#recent.seen([meta.uid ?? '', meta.generation ?? 0, type, reason, text], now);
    this.#onBytes?.(this.#recent.bytes);
    if (repeated) return;
    const ts = new Date(now);
    try {
      await this.#api.createEvent({
        metadata: { name: `${meta.name ?? 'sealedsecret'}.${this.#namePrefix}${(this.#count++).toString(16)}`, namespace: meta.namespace ?? 'default' },
        involvedObject: { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', name: meta.name ?? '', namespace: meta.namespace ?? '', uid: meta.uid ?? '', resourceVersion: meta.resourceVersion ?? '' },
        reason,
        message: text,
        type,
        source: { component: 'sealbox-controller' },
        reportingComponent: 'sealbox.dev/controller',
        reportingInstance: this.#instance,
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
      });
    } catch (err) {
      this.#log.warn({ namespace: meta.namespace, name: meta.name, reason, err: err instanceof Error ? truncate(err.message, MESSAGE_CHARS) : 'unknown' }, 'could not record event');
    }
  }
}
