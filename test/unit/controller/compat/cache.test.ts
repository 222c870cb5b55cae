import { describe, expect, it } from 'vitest';
import { fullSealed, summarizeBitnami } from '../../../../src/controller/compat/cache.js';
import type { SealedSecretObject } from '../../../../src/kube/types.js';

// Compatibility mode caches every bitnami SealedSecret it watches; a tenant
// chooses their size (1.4 MB each, docs/SECURITY.md 1a.8). The cache keeps a
// summary whose size does not depend on what the tenant writes, and
// reconcile works on the whole object, listed or fetched.
function bulky(rv: string): SealedSecretObject {
  return {
    apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret',
    metadata: {
      name: 'db', namespace: 'tenant', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', resourceVersion: rv, generation: 3,
      labels: { l: 'x'.repeat(60_000) }, annotations: { a: 'y'.repeat(200_000) },
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { f: 'z'.repeat(100_000) } }],
    },
    spec: { encryptedData: { blob: 'A'.repeat(1_400_000) }, template: { metadata: { annotations: { t: 'w'.repeat(100_000) } } } },
    status: { observedGeneration: 2, conditions: [{ type: 'Synced', status: 'False', message: 'm'.repeat(1000) }] },
  };
}

describe('compat mode: the SealedSecret summary the informer caches', () => {
  it('keeps identity, resourceVersion and generation, and nothing a tenant sizes (no encryptedData, template, labels or annotations)', () => {
    const obj = bulky('42');
    const kept = summarizeBitnami(obj);
    expect(kept).toEqual({ metadata: { name: 'db', namespace: 'tenant', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', resourceVersion: '42', generation: 3 } });
    expect(JSON.stringify(kept).length).toBeLessThan(200);
    expect(obj.spec, 'the object itself is left as it is (the cold start may hold it)').toEqual(bulky('42').spec);
  });
});

describe('compat mode: the whole SealedSecret a reconcile works on', () => {
  const gets: string[] = [];
  const get = (obj: SealedSecretObject | undefined) => (): Promise<SealedSecretObject | undefined> => {
    gets.push(obj?.metadata?.resourceVersion ?? 'gone');
    return Promise.resolve(obj);
  };

  it.each([
    ['the listed copy, when it is the cached version', '7', '7', undefined, '7', []],
    ['a GET, when the listed copy is older than the cache', '8', '7', '8', '8', ['8']],
    ['a GET, when nothing was listed (an update, a resync)', '8', undefined, '8', '8', ['8']],
    ['the listed copy, when the cache has not got it yet', undefined, '7', '9', '7', []],
    ['nothing, when neither the cache nor the list has it (deleted)', undefined, undefined, '9', undefined, []],
    ['nothing, when the GET finds it gone', '8', undefined, undefined, undefined, ['gone']],
  ])('is %s', async (_what, cachedRv, listedRv, servedRv, want, wantGets) => {
    gets.length = 0;
    const cached = cachedRv === undefined ? undefined : summarizeBitnami(bulky(cachedRv));
    const listed = listedRv === undefined ? undefined : bulky(listedRv);
    const served = servedRv === undefined ? undefined : bulky(servedRv);
    const got = await fullSealed(cached, listed, get(served));
    expect(got?.metadata?.resourceVersion).toBe(want);
    expect(gets).toEqual(wantGets);
  });
});
