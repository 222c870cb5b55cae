import { describe, expect, it } from 'vitest';
import { NOT_OWNED_RECHECK_MS, ReconcileError } from '../../../src/controller/reconciler.js';
import { isKubeStatus } from '../../../src/kube/errors.js';
import { expectSealboxError } from '../../helpers/errors.js';
import { UID, b64, counted, key, ownedSecret, ready, sealedObject, world } from './reconciler-world.js';

describe('Reconciler', () => {
  it('creates a missing Secret with one request when the initial list handed the sealed resource over: owned by it, a Created event, Ready=True', async () => {
    const obj = await sealedObject({ password: 'hunter2' });
    const w = world(obj);
    w.listed.set('prod/db', structuredClone(obj));
    await w.reconciler.reconcile('prod/db');
    expect(w.listed.size).toBe(0);
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
    expect(w.api.calls).toEqual(['getSealed prod/db', 'get prod/db', 'update prod/db', 'status prod/db']);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2') });
    expect(w.events.map((e) => e.reason)).toEqual(['Updated']);
    expect(await counted(w.metrics, 'result', 'updated')).toBe(1);
  });

  it('reads and updates the Secret when the create meets one the cache has not seen yet (409)', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    w.api.put(ownedSecret({ password: b64('old') }));
    w.secretCache = 'stale';
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'create prod/db', 'get prod/db', 'update prod/db', 'status prod/db']);
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
    expect(w.api.calls).toEqual(['getSealed prod/db', 'create prod/db']);
    const again = w.api.peek('prod', 'db');
    expect(again?.data).toEqual({ password: b64('hunter2') });
    expect(again?.metadata?.uid).not.toBe(first);
    expect(await counted(w.metrics, 'result', 'created')).toBe(2);
  });

  it('re-creates a Secret whose type changed: deletes it by uid, then creates it', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }, 'Opaque'));
    const old = w.api.put(ownedSecret({ password: b64('hunter2') }, 'kubernetes.io/basic-auth'));
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'get prod/db', 'delete prod/db', 'create prod/db', 'status prod/db']);
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
    expect(w.api.calls).toEqual(['getSealed prod/db', 'create prod/db', 'get prod/db', 'status prod/db']);
    expect(ready(w.api.statuses[0]?.status)).toMatchObject({ status: 'False', reason: 'SecretNotOwned' });
    expect(w.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'SecretNotOwned']]);
    expect(await counted(w.metrics, 'reason', 'SecretNotOwned')).toBe(1);
  });

  it('writes status once, not again while the watch has not delivered it, and again when someone else changed it', async () => {
    const w = world(await sealedObject({ password: 'hunter2' }));
    w.sealedCache = 'frozen';
    await w.reconciler.reconcile('prod/db');
    expect(w.api.statuses).toHaveLength(1);
    // the watch has not delivered the write yet: the GET shows it, nothing to write
    await w.reconciler.reconcile('prod/db');
    expect(w.api.statuses).toHaveLength(1);
    // the watch delivers it: nothing to write, no request
    w.sealedCache = 'follows';
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
    // someone else changes the status: it is written back
    const written = w.api.statuses[0]?.status;
    const now = w.api.sealed.get('prod/db');
    if (now === undefined) throw new Error('no sealed resource');
    w.api.sealed.set('prod/db', { ...now, metadata: { ...now.metadata, resourceVersion: '9' }, status: { observedGeneration: 1, conditions: [] } });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.statuses).toHaveLength(2);
    // the same status; only the times may differ (the conditions were gone, so they moved, maybe to the next second)
    const timeless = (s: unknown): unknown => JSON.parse(JSON.stringify(s).replace(/"lastTransitionTime":"[^"]*"/g, '"lastTransitionTime":""'));
    expect(timeless(w.api.statuses[1]?.status)).toEqual(timeless(written));
  });
});

describe('Reconciler with --shards', () => {
  it('writes nothing (no Secret, status or event) for a shard lost while it was unsealing, and writes once it holds it again', async () => {
    const obj = await sealedObject({ password: 'hunter2' });
    let held = true;
    let lose = true;
    // the Lease lapses (or is handed over) while the resource is being unsealed
    const slowKey = { description: key.description, unwrap: (...args: Parameters<typeof key.unwrap>) => { if (lose) held = false; return key.unwrap(...args); } };
    const w = world(obj, undefined, { unwrappers: () => [slowKey], mayWrite: (ns) => ns === 'prod' && held });
    w.listed.set('prod/db', structuredClone(obj));
    await expect(w.reconciler.reconcile('prod/db')).rejects.toBeInstanceOf(ReconcileError);
    expect(w.api.calls).toEqual([]);
    expect(w.events).toEqual([]);
    lose = false;
    held = true;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2') });
  });
});
