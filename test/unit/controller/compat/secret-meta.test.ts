import { describe, expect, it } from 'vitest';
import { secretMeta } from '../../../../src/controller/compat/mode.js';
import { InformerCache } from '../../../../src/kube/informer-cache.js';
import type { V1Secret } from '../../../../src/kube/types.js';

// Compatibility mode watches the metadata of every Secret of the cluster, to
// re-create deleted ones. What it keeps per Secret must not grow with what a
// tenant writes into its own Secrets' owner references or annotations.
const bitnamiRef = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', controller: true };

function secret(meta: Partial<NonNullable<V1Secret['metadata']>>): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'tenant', ...meta }, data: { password: 'cA==' } };
}

describe('compat mode: the Secret metadata kept by the deletion watch', () => {
  it('keeps a bounded size whatever a tenant writes into owner references and annotations', () => {
    const junk = Array.from({ length: 1000 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: 'n'.repeat(1000), uid: `u${String(i)}` }));
    const kept = secretMeta(secret({
      ownerReferences: [...junk, { ...bitnamiRef, name: 'x'.repeat(100_000) }],
      annotations: { 'sealedsecrets.bitnami.com/managed': 'y'.repeat(200_000), other: 'z'.repeat(100_000) },
    }));
    expect(JSON.stringify(kept).length).toBeLessThan(400);
    expect(kept.metadata?.ownerReferences).toEqual([{ ...bitnamiRef, name: '' }]);
    expect(kept.metadata?.annotations).toBeUndefined();
  });

  it('keeps what the re-creation check reads: the controller reference and managed "true"', () => {
    expect(secretMeta(secret({ ownerReferences: [bitnamiRef], annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } })).metadata).toEqual({
      name: 'db', namespace: 'tenant', ownerReferences: [{ ...bitnamiRef, name: '' }], annotations: { 'sealedsecrets.bitnami.com/managed': 'true' },
    });
    const other = secretMeta(secret({ ownerReferences: [{ ...bitnamiRef, kind: 'Deployment' }, { ...bitnamiRef, controller: false }, { ...bitnamiRef, uid: 'u'.repeat(100_000) }] }));
    expect(other.metadata).toEqual({ name: 'db', namespace: 'tenant' });
  });

  it('keeps the resourceVersion, so that a relist of unchanged Secrets updates nothing (attack20)', () => {
    const cache = new InformerCache<V1Secret, V1Secret>(secretMeta);
    const verbs: string[] = [];
    cache.on('add', () => verbs.push('add'));
    cache.on('update', () => verbs.push('update'));
    const s = secret({ resourceVersion: '4711', ownerReferences: [bitnamiRef] });
    cache.put(s);
    cache.put(s); // the same version again, as a relist delivers it
    cache.put(secret({ resourceVersion: '4712', ownerReferences: [bitnamiRef] }));
    expect(verbs).toEqual(['add', 'update']);
  });
});
