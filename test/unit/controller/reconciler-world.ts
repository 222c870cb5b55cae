/**
 * The world of reconciler unit tests: a Reconciler over the in-memory API
 * (MemorySecrets), with informer caches that follow it as summaries.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { EventRecorder } from '../../../src/controller/events.js';
import type { EventSink } from '../../../src/controller/events.js';
import { Metrics } from '../../../src/controller/metrics.js';
import { MANAGED_LABEL, MANAGED_VALUE } from '../../../src/controller/plan.js';
import type { ReconcilerDeps } from '../../../src/controller/reconciler.js';
import { Reconciler } from '../../../src/controller/reconciler.js';
import type { SealedSummary } from '../../../src/controller/sealed-cache.js';
import { summarizeSealed } from '../../../src/controller/sealed-cache.js';
import type { SecretSummary } from '../../../src/controller/secret-cache.js';
import { summarizeSecret } from '../../../src/controller/secret-cache.js';
import { DataKeyCache } from '../../../src/crypto/key-cache.js';
import { sealSecret } from '../../../src/format/seal.js';
import { sealedManifest } from '../../../src/format/sealed.js';
import type { SealedSecretObject, V1Secret } from '../../../src/kube/types.js';
import { LocalKey } from '../../helpers/local-key.js';
import { MemorySecrets } from './memory-secrets.js';

export type Event = Parameters<EventSink['createEvent']>[0];

export const key = new LocalKey('reconciler-test');
export const UID = 'uid-sealed-db';
export const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** The sealed resource prod/db as the informer holds it, sealing `values` (Opaque unless `type`). */
export async function sealedObject(values: Record<string, string>, type = 'Opaque'): Promise<SealedSecretObject> {
  const data = new Map(Object.entries(values).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]));
  const sealed = await sealSecret({ name: 'db', namespace: 'prod', type, labels: {}, annotations: {}, data }, { scope: 'strict', wrappers: [key] });
  const manifest = sealedManifest(sealed) as unknown as SealedSecretObject;
  return { ...manifest, metadata: { ...manifest.metadata, uid: UID, generation: 1, resourceVersion: '7' } };
}

/** A Secret prod/db that the sealed resource owns (as the controller writes it), with `data`. */
export function ownedSecret(data: Record<string, string>, type = 'Opaque'): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'prod', labels: { [MANAGED_LABEL]: MANAGED_VALUE }, annotations: {}, ownerReferences: [{ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', uid: UID, controller: true }] },
    type,
    data,
  };
}

/**
 * A reconciler over an in-memory API. The API holds the sealed resources
 * (`api.sealed`) and Secrets; the informer caches follow it as summaries,
 * as the real ones keep them. `secretCache = 'stale'` makes the Secret
 * cache miss; `sealedCache = 'frozen'` keeps the sealed-resource cache at
 * what it showed when it was frozen (a watch that has not delivered yet).
 * `listed` holds what the informer's initial list handed over.
 */
export interface World {
  readonly api: MemorySecrets;
  readonly events: Event[];
  readonly metrics: Metrics;
  readonly listed: Map<string, SealedSecretObject>;
  secretCache: 'follows' | 'stale';
  sealedCache: 'follows' | 'frozen';
  readonly reconciler: Reconciler;
}

export function world(obj: SealedSecretObject, fingerprints: ReadonlySet<string> = new Set(), deps: Partial<ReconcilerDeps> = {}): World & { fingerprints: ReadonlySet<string> } {
  const api = new MemorySecrets();
  api.sealed.set('prod/db', obj);
  const events: Event[] = [];
  const sink: EventSink = { createEvent: (e) => { events.push(e); return Promise.resolve(); } };
  const log = pino({ level: 'info' }, new Writable({ write(_c, _e, done) { done(); } }));
  const metrics = new Metrics();
  const listed = new Map<string, SealedSecretObject>();
  let frozen: SealedSummary | undefined;
  const w = {
    api, events, metrics, listed, fingerprints,
    secretCache: 'follows' as World['secretCache'],
    get sealedCache(): World['sealedCache'] { return frozen === undefined ? 'follows' : 'frozen'; },
    set sealedCache(v: World['sealedCache']) {
      const now = api.sealed.get('prod/db');
      frozen = v === 'frozen' && now !== undefined ? summarizeSealed(now) : undefined;
    },
    reconciler: undefined as unknown as Reconciler,
  };
  const getCachedSecret = (ns: string, name: string): SecretSummary | undefined => {
    const s = w.secretCache === 'follows' ? api.peek(ns, name) : undefined;
    return s === undefined || s.metadata?.labels?.[MANAGED_LABEL] !== MANAGED_VALUE ? undefined : summarizeSecret(s);
  };
  const getSealed = (ns: string, name: string): SealedSummary | undefined => {
    if (frozen !== undefined) return frozen;
    const o = api.sealed.get(`${ns}/${name}`);
    return o === undefined ? undefined : summarizeSealed(o);
  };
  w.reconciler = new Reconciler({
    api, metrics, log, getCachedSecret, getSealed,
    takeListed: (k) => { const o = listed.get(k); listed.delete(k); return o; },
    events: new EventRecorder(sink, log, 'test'),
    cache: new DataKeyCache(16),
    unwrappers: () => [key],
    fingerprints: () => w.fingerprints,
    ...deps,
  });
  return w;
}

/** Resources unsealed so far. */
export async function unseals(metrics: Metrics): Promise<number> {
  return (await metrics.unsealSeconds.get()).values.find((v) => v.metricName === 'sealbox_unseal_duration_seconds_count')?.value ?? 0;
}

/** The reconciles counted with `result`, or the failures counted with `reason`. */
export async function counted(metrics: Metrics, label: 'result' | 'reason', value: string): Promise<number> {
  const values = label === 'result' ? (await metrics.reconciles.get()).values : (await metrics.errors.get()).values;
  return values.find((v) => (v.labels as Record<string, unknown>)[label] === value)?.value ?? 0;
}

export function ready(status: Record<string, unknown> | undefined): unknown {
  return (status?.conditions as { type: string }[] | undefined)?.find((c) => c.type === 'Ready');
}

/**
 * A world whose resource `prod/db` was synced once from the initial list,
 * its status write's MODIFIED not in the cache yet (a watch replaying the
 * initial list's writes).
 */
export async function syncedOneVersionBehind(): Promise<{ obj: SealedSecretObject; w: ReturnType<typeof world> }> {
  const obj = await sealedObject({ password: 'hunter2' });
  const w = world(obj);
  w.listed.set('prod/db', structuredClone(obj));
  w.sealedCache = 'frozen';
  await w.reconciler.reconcile('prod/db');
  return { obj, w };
}
