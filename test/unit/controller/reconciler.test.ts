import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/controller/events.js';
import type { EventSink } from '../../../src/controller/events.js';
import { Metrics } from '../../../src/controller/metrics.js';
import { MANAGED_LABEL, MANAGED_VALUE } from '../../../src/controller/plan.js';
import { NOT_OWNED_RECHECK_MS, ReconcileError, Reconciler } from '../../../src/controller/reconciler.js';
import { summarizeSecret } from '../../../src/controller/secret-cache.js';
import { DataKeyCache } from '../../../src/crypto/key-cache.js';
import { sealSecret } from '../../../src/format/seal.js';
import { sealedManifest } from '../../../src/format/sealed.js';
import { isKubeStatus } from '../../../src/kube/errors.js';
import type { SealedSecretObject, V1Secret } from '../../../src/kube/types.js';
import { expectSealboxError } from '../../helpers/errors.js';
import { LocalKey } from '../../helpers/local-key.js';
import { MemorySecrets } from './memory-secrets.js';

type Event = Parameters<EventSink['createEvent']>[0];

const key = new LocalKey('reconciler-test');
const UID = 'uid-sealed-db';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** The sealed resource prod/db as the informer holds it, sealing `values` (Opaque unless `type`). */
async function sealedObject(values: Record<string, string>, type = 'Opaque'): Promise<SealedSecretObject> {
  const data = new Map(Object.entries(values).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]));
  const sealed = await sealSecret({ name: 'db', namespace: 'prod', type, labels: {}, annotations: {}, data }, { scope: 'strict', wrappers: [key] });
  const manifest = sealedManifest(sealed) as unknown as SealedSecretObject;
  return { ...manifest, metadata: { ...manifest.metadata, uid: UID, generation: 1, resourceVersion: '7' } };
}

/** A Secret prod/db that the sealed resource owns (as the controller writes it), with `data`. */
function ownedSecret(data: Record<string, string>, type = 'Opaque'): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'prod', labels: { [MANAGED_LABEL]: MANAGED_VALUE }, annotations: {}, ownerReferences: [{ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', uid: UID, controller: true }] },
    type,
    data,
  };
}

/**
 * A reconciler over an in-memory API. The informer caches are maps the test
 * controls; by default the Secret cache follows the store (as a summary, as
 * the real one keeps it), and `secretCache = 'stale'` makes it miss.
 */
interface World {
  readonly api: MemorySecrets;
  /** The sealed-resource informer's cache. */
  readonly sealed: Map<string, SealedSecretObject>;
  readonly events: Event[];
  readonly metrics: Metrics;
  secretCache: 'follows' | 'stale';
  readonly reconciler: Reconciler;
}

function world(obj: SealedSecretObject): World {
  const api = new MemorySecrets();
  const sealed = new Map([['prod/db', obj]]);
  const events: Event[] = [];
  const sink: EventSink = { createEvent: (e) => { events.push(e); return Promise.resolve(); } };
  const log = pino({ level: 'info' }, new Writable({ write(_c, _e, done) { done(); } }));
  const metrics = new Metrics();
  let secretCache: World['secretCache'] = 'follows';
  const getCachedSecret = (ns: string, name: string): V1Secret | undefined => {
    const s = secretCache === 'follows' ? api.peek(ns, name) : undefined;
    return s === undefined || s.metadata?.labels?.[MANAGED_LABEL] !== MANAGED_VALUE ? undefined : summarizeSecret(s);
  };
  const reconciler = new Reconciler({
    api, metrics, log, getCachedSecret,
    events: new EventRecorder(sink, log, 'test'),
    cache: new DataKeyCache(16),
    getSealed: (ns, name) => sealed.get(`${ns}/${name}`),
    unwrappers: () => [key],
    fingerprints: () => new Set(),
  });
  return {
    api, sealed, events, metrics, reconciler,
    get secretCache() { return secretCache; },
    set secretCache(v) { secretCache = v; },
  };
}

/** The reconciles counted with `result`, or the failures counted with `reason`. */
async function counted(metrics: Metrics, label: 'result' | 'reason', value: string): Promise<number> {
  const values = label === 'result' ? (await metrics.reconciles.get()).values : (await metrics.errors.get()).values;
  return values.find((v) => (v.labels as Record<string, unknown>)[label] === value)?.value ?? 0;
}

function ready(status: Record<string, unknown> | undefined): unknown {
  return (status?.conditions as { type: string }[] | undefined)?.find((c) => c.type === 'Ready');
}

describe('Reconciler', () => {
  it('creates a missing Secret with one request: owned by the sealed resource, a Created event, Ready=True', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['create prod/db', 'status prod/db']);
    const secret = w.api.peek('prod', 'db');
    expect(secret?.data).toEqual({ password: b64('hunter2') });
    expect(secret?.metadata?.ownerReferences).toEqual([expect.objectContaining({ uid: UID, controller: true })]);
    expect(w.events.map((e) => [e.type, e.reason])).toEqual([['Normal', 'Created']]);
    expect(ready(w.api.statuses[0]?.status)).toMatchObject({ status: 'True', reason: 'Unsealed' });
    expect(await counted(w.metrics, 'result', 'created')).toBe(1);
  });

  it('sends no request at all when the cached Secret and the status match', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    await w.reconciler.reconcile('prod/db');
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
    expect(await counted(w.metrics, 'result', 'unchanged')).toBe(1);
  });

  it('updates a Secret whose value was changed by hand, from the Secret as it is now', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    w.api.put(ownedSecret({ password: b64('edited'), extra: b64('x') }));
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['get prod/db', 'update prod/db', 'status prod/db']);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2') });
    expect(w.events.map((e) => e.reason)).toEqual(['Updated']);
    expect(await counted(w.metrics, 'result', 'updated')).toBe(1);
  });

  it('reads and updates the Secret when the create meets one the cache has not seen yet (409)', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    w.api.put(ownedSecret({ password: b64('old') }));
    w.secretCache = 'stale';
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['create prod/db', 'get prod/db', 'update prod/db', 'status prod/db']);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2') });
    expect(w.events.map((e) => e.reason)).toEqual(['Updated']);
  });

  it('leaves a conflict (409) to the work queue: no status, no event; the retry reads the Secret again and writes', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    w.api.put(ownedSecret({ password: b64('old') }));
    // another writer changes the Secret between our read and our update
    w.api.before = (call) => {
      if (call !== 'update prod/db') return;
      w.api.before = undefined;
      w.api.put({ ...ownedSecret({ password: b64('theirs') }), metadata: { ...ownedSecret({}).metadata, uid: w.api.peek('prod', 'db')?.metadata?.uid } });
    };
    const err = await expectSealboxError(w.reconciler.reconcile('prod/db'), 'KUBE', 'update secret prod/db: HTTP 409');
    expect(isKubeStatus(err, 409)).toBe(true);
    expect(w.api.statuses).toEqual([]);
    expect(w.events).toEqual([]);
    expect(await counted(w.metrics, 'reason', 'ApiError')).toBe(1);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('theirs') });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2') });
    expect(w.events.map((e) => e.reason)).toEqual(['Updated']);
  });

  it('re-creates the Secret after someone deleted it', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    await w.reconciler.reconcile('prod/db');
    const first = w.api.peek('prod', 'db')?.metadata?.uid;
    w.api.remove('prod', 'db');
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['create prod/db']);
    const again = w.api.peek('prod', 'db');
    expect(again?.data).toEqual({ password: b64('hunter2') });
    expect(again?.metadata?.uid).not.toBe(first);
    expect(await counted(w.metrics, 'result', 'created')).toBe(2);
  });

  it('re-creates a Secret whose type changed: deletes it by uid, then creates it', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }, 'Opaque'));
    const old = w.api.put(ownedSecret({ password: b64('hunter2') }, 'kubernetes.io/basic-auth'));
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['get prod/db', 'delete prod/db', 'create prod/db', 'status prod/db']);
    const now = w.api.peek('prod', 'db');
    expect(now?.type).toBe('Opaque');
    expect(now?.metadata?.uid).not.toBe(old.metadata?.uid);
    expect(w.events.map((e) => e.reason)).toEqual(['Recreated']);
    expect(await counted(w.metrics, 'result', 'recreated')).toBe(1);
  });

  it('refuses a Secret it does not own with the REFUSED code: SecretNotOwned in status and a Warning event, the Secret untouched', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    const theirs = w.api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod' }, type: 'Opaque', data: { password: b64('theirs') } });
    const err = await expectSealboxError(w.reconciler.reconcile('prod/db'), 'REFUSED', 'is not managed by this sealed secret; annotate it with sealbox.dev/take-over="true"');
    expect(err).toBeInstanceOf(ReconcileError);
    expect(err).toMatchObject({ reason: 'SecretNotOwned', retryBaseMs: NOT_OWNED_RECHECK_MS });
    expect(w.api.peek('prod', 'db')).toEqual(theirs);
    expect(w.api.calls).toEqual(['create prod/db', 'get prod/db', 'status prod/db']);
    expect(ready(w.api.statuses[0]?.status)).toMatchObject({ status: 'False', reason: 'SecretNotOwned' });
    expect(w.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'SecretNotOwned']]);
    expect(await counted(w.metrics, 'reason', 'SecretNotOwned')).toBe(1);
  });

  it("writes status without changing the informer's cached object, and writes it again only when the cache shows another", async () => {
    const obj = await sealedObject({ password: 'hunter2' });
    const before = structuredClone(obj);
    const w = world(obj);
    await w.reconciler.reconcile('prod/db');
    expect(obj).toEqual(before);
    expect(w.api.statuses).toHaveLength(1);
    // the watch has not delivered the write yet: the same version, nothing to write
    await w.reconciler.reconcile('prod/db');
    expect(w.api.statuses).toHaveLength(1);
    // the watch delivers it: still nothing to write
    const written = w.api.statuses[0]?.status;
    w.sealed.set('prod/db', { ...obj, metadata: { ...obj.metadata, resourceVersion: '8' }, status: written });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.statuses).toHaveLength(1);
    // someone else changes the status: it is written back
    w.sealed.set('prod/db', { ...obj, metadata: { ...obj.metadata, resourceVersion: '9' }, status: { observedGeneration: 1, conditions: [] } });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.statuses).toHaveLength(2);
    // the same status; only the times may differ (the conditions were gone, so they moved, maybe to the next second)
    const timeless = (s: unknown): unknown => JSON.parse(JSON.stringify(s).replace(/"lastTransitionTime":"[^"]*"/g, '"lastTransitionTime":""'));
    expect(timeless(w.api.statuses[1]?.status)).toEqual(timeless(written));
  });
});
