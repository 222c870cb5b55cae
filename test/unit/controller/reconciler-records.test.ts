// Sync records (issue 17 §1): a resync of a resource whose cached summaries
// are as its last sync left them costs nothing; anything else takes the full
// path (GET the sealed resource, unseal, GET the Secret, plan, write).
import { describe, expect, it } from 'vitest';
import { MANAGED_LABEL, MANAGED_VALUE, PATCH_ANNOTATION } from '../../../src/controller/plan.js';
import type { SealedSecretObject } from '../../../src/kube/types.js';
import { b64, ownedSecret, sealedObject, syncedOneVersionBehind, unseals, world } from './reconciler-world.js';

/** A world whose prod/db was synced once from the initial list, with the caches caught up and the calls cleared. */
async function synced(obj: SealedSecretObject, fingerprints?: ReadonlySet<string>): Promise<ReturnType<typeof world>> {
  const w = world(obj, fingerprints);
  w.listed.set('prod/db', structuredClone(obj));
  await w.reconciler.reconcile('prod/db');
  w.api.calls.length = 0;
  return w;
}

/** Changes the stored Secret prod/db as another writer would. */
function edit(w: ReturnType<typeof world>, change: (s: NonNullable<ReturnType<typeof w.api.peek>>) => void): void {
  const s = w.api.peek('prod', 'db');
  if (s === undefined) throw new Error('no secret');
  change(s);
  w.api.put(s);
}

describe('a resync', () => {
  it('of an unchanged resource makes no API request and no unseal, again and again', async () => {
    const w = await synced(await sealedObject({ password: 'hunter2' }));
    const before = await unseals(w.metrics);
    expect(before).toBe(1);
    for (let i = 0; i < 3; i++) await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
    expect(await unseals(w.metrics)).toBe(before);
  });

  it.each<[string, (s: NonNullable<ReturnType<ReturnType<typeof world>['api']['peek']>>) => void, string[]]>([
    ['a value edited by hand', (s) => { s.data = { password: b64('edited') }; }, ['getSealed prod/db', 'get prod/db', 'update prod/db']],
    ['a label edited by hand', (s) => { s.metadata = { ...s.metadata, labels: { [MANAGED_LABEL]: 'someone' } }; }, ['getSealed prod/db', 'get prod/db', 'update prod/db']],
    ['the type changed', (s) => { s.type = 'kubernetes.io/basic-auth'; }, ['getSealed prod/db', 'get prod/db', 'delete prod/db', 'create prod/db']],
  ])('puts back %s: it GETs the sealed resource, unseals, GETs the Secret and writes; then costs nothing again', async (_name, change, calls) => {
    const w = await synced(await sealedObject({ password: 'hunter2' }));
    const good = w.api.peek('prod', 'db');
    edit(w, change);
    if (w.api.peek('prod', 'db')?.metadata?.labels?.[MANAGED_LABEL] !== MANAGED_VALUE) w.secretCache = 'stale'; // out of the label-selected watch
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(w.secretCache === 'stale' ? ['getSealed prod/db', 'create prod/db', 'get prod/db', 'update prod/db'] : calls);
    expect(await unseals(w.metrics)).toBe(2);
    const now = w.api.peek('prod', 'db');
    expect({ type: now?.type, data: now?.data, labels: now?.metadata?.labels }).toEqual({ type: good?.type, data: good?.data, labels: good?.metadata?.labels });
    w.secretCache = 'follows';
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
  });

  it('re-unseals a sealed resource changed in Git (a new generation) from a GET', async () => {
    const w = await synced(await sealedObject({ password: 'hunter2' }));
    const next = await sealedObject({ password: 'rotated' });
    w.api.sealed.set('prod/db', { ...next, metadata: { ...next.metadata, generation: 2, resourceVersion: '20' } });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'get prod/db', 'update prod/db', 'status prod/db']);
    expect(await unseals(w.metrics)).toBe(2);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('rotated') });
    expect(w.api.statuses.at(-1)?.status).toMatchObject({ observedGeneration: 2 });
  });

  it('of a resource whose cluster key is gone unseals it again', async () => {
    const w = await synced(await sealedObject({ password: 'hunter2' }), new Set(['fp-old', 'fp-new']));
    w.fingerprints = new Set(['fp-old', 'fp-new', 'fp-newer']);
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
    w.fingerprints = new Set(['fp-new', 'fp-newer']);
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db']);
    expect(await unseals(w.metrics)).toBe(2);
  });
});

describe('the initial list', () => {
  it('is used instead of a GET only when it shows the version the cache shows', async () => {
    const obj = await sealedObject({ password: 'hunter2' });
    const w = world(obj);
    w.listed.set('prod/db', { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: '6' } });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'create prod/db', 'status prod/db']);
    expect(w.listed.size).toBe(0);
  });
});

describe('patch mode', () => {
  it("leaves other writers' keys alone, and a change to one of them costs two GETs and no write", async () => {
    const obj = await sealedObject({ password: 'hunter2' });
    obj.metadata = { ...obj.metadata, annotations: { [PATCH_ANNOTATION]: 'true' } };
    const w = world(obj);
    w.api.put(ownedSecret({ password: b64('old'), theirs: b64('kept') }));
    w.listed.set('prod/db', structuredClone(obj));
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['get prod/db', 'update prod/db', 'status prod/db']);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2'), theirs: b64('kept') });
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
    edit(w, (s) => { s.data = { ...s.data, theirs: b64('changed by them') }; });
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'get prod/db']);
    expect(w.api.peek('prod', 'db')?.data).toEqual({ password: b64('hunter2'), theirs: b64('changed by them') });
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual([]);
  });
});

describe('a status write the watch has not delivered yet', () => {
  it('costs no GET: the cache one version behind, at the version read before the write, is that write in flight', async () => {
    const { w } = await syncedOneVersionBehind();
    expect(w.api.calls).toEqual(['create prod/db', 'status prod/db']);
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db'); // the enqueue of every resource when the list ends, or a resync
    expect(w.api.calls).toEqual([]);
    w.sealedCache = 'follows';
    await w.reconciler.reconcile('prod/db'); // the MODIFIED comes
    expect(w.api.calls).toEqual([]);
  });

  it('is no excuse once the cache has shown it: a status set back to the old one later is written again', async () => {
    const obj = await sealedObject({ password: 'hunter2' });
    const w = world(obj);
    w.listed.set('prod/db', structuredClone(obj));
    await w.reconciler.reconcile('prod/db');
    await w.reconciler.reconcile('prod/db'); // the MODIFIED comes: the cache shows the write
    // someone sets the status back to what it was (no status), a new version
    w.api.sealed.set('prod/db', { ...obj, metadata: { ...obj.metadata, resourceVersion: '50' } });
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'status prod/db']);
  });

  it('is no excuse for a later version: a status set back before the cache showed the write is written again', async () => {
    const { obj, w } = await syncedOneVersionBehind();
    // both MODIFIED events are in the cache before the next reconcile: ours, then someone's who set the status back
    w.api.sealed.set('prod/db', { ...obj, metadata: { ...obj.metadata, resourceVersion: '50' } });
    w.sealedCache = 'follows';
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'status prod/db']);
  });

  it('does not hide a Secret changed meanwhile: it is put back', async () => {
    const { w } = await syncedOneVersionBehind();
    edit(w, (s) => { s.data = { password: b64('edited') }; });
    w.api.calls.length = 0;
    await w.reconciler.reconcile('prod/db');
    expect(w.api.calls).toEqual(['getSealed prod/db', 'get prod/db', 'update prod/db']);
  });
});
