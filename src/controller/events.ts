import { randomBytes } from 'node:crypto';
import type { KubeApi, SealedSecretObject } from './kube.js';
import type { Logger } from './log.js';

/** How long the same event for the same object is not repeated. */
const DEDUPE_MS = 10 * 60_000;

/**
 * Records core/v1 Events on sealed resources. The same reason and message
 * for the same object is recorded once per ten minutes, so retries with
 * backoff do not flood the API server. Failures to record are logged only.
 */
export class EventRecorder {
  readonly #api: KubeApi;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #recent = new Map<string, number>();

  constructor(api: KubeApi, log: Logger, instance: string) {
    this.#api = api;
    this.#log = log;
    this.#instance = instance;
  }

  async warning(obj: SealedSecretObject, reason: string, message: string): Promise<void> {
    await this.#record(obj, 'Warning', reason, message);
  }

  async normal(obj: SealedSecretObject, reason: string, message: string): Promise<void> {
    await this.#record(obj, 'Normal', reason, message);
  }

  async #record(obj: SealedSecretObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const key = `${meta.uid ?? ''}\0${meta.generation ?? 0}\0${type}\0${reason}\0${message}`;
    const now = Date.now();
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < DEDUPE_MS) return;
    this.#recent.set(key, now);
    if (this.#recent.size > 10_000) {
      for (const [k, t] of this.#recent) if (now - t >= DEDUPE_MS) this.#recent.delete(k);
    }
    const ts = new Date(now);
    try {
      await this.#api.createEvent({
        metadata: { name: `${meta.name ?? 'sealedsecret'}.${randomBytes(8).toString('hex')}`, namespace: meta.namespace ?? 'default' },
        involvedObject: { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', name: meta.name ?? '', namespace: meta.namespace ?? '', uid: meta.uid ?? '', resourceVersion: meta.resourceVersion ?? '' },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: 'sealbox-controller' },
        reportingComponent: 'sealbox.dev/controller',
        reportingInstance: this.#instance,
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
      });
    } catch (err) {
      this.#log.warn({ namespace: meta.namespace, name: meta.name, reason, err: err instanceof Error ? err.message : String(err) }, 'could not record event');
    }
  }
}
