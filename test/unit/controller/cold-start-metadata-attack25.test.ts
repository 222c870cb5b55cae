import { describe, expect, it } from 'vitest';
import { COLD_START_BYTES, ColdStart } from '../../../src/controller/cold-start.js';
import { trimSealed } from '../../../src/kube/informers.js';
import type { SealedSecretObject } from '../../../src/kube/types.js';

/**
 * attack25 (re-review of f7a6d8b): the cold start's byte bound counts the
 * spec only, and trimSealed drops only managedFields and last-applied. A
 * tenant's sealed resource with a tiny spec and ~1 MB of labels (no total
 * limit but etcd's 1.5 MiB object size; annotations are capped at 256 KiB,
 * labels are not) is held at the cost of its spec, a few hundred bytes.
 */
function fat(i: number): SealedSecretObject {
  const labels: Record<string, string> = {};
  // 3,300 labels of ~400 bytes: a valid prefix (253 chars max), name (63) and value (63)
  const prefix = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.com`;
  for (let n = 0; n < 3300; n++) labels[`${prefix}/k${String(n).padStart(5, '0')}${'x'.repeat(50)}`] = 'v'.repeat(63);
  return {
    apiVersion: 'sealbox.io/v1', kind: 'SealedSecret',
    metadata: { namespace: 'tenant', name: `r${String(i)}`, resourceVersion: String(i), uid: `u${String(i)}`, labels },
    spec: { encryptedData: {} },
  };
}

describe('ColdStart bound vs. metadata (attack25)', () => {
  it('keeps what it holds, whole objects as held, within its byte bound', () => {
    const c = new ColdStart(1000, () => undefined);
    const one = JSON.stringify(trimSealed(fat(0))).length;
    expect(one).toBeGreaterThan(1_000_000);
    expect(one).toBeLessThan(1_500_000); // fits etcd's default object limit
    const n = Math.ceil((2 * COLD_START_BYTES) / one); // twice the bound, were every object held
    for (let i = 0; i < n; i++) void c.offer(trimSealed(fat(i)));
    let held = 0;
    for (let i = 0; i < n; i++) {
      const o = c.take(`tenant/r${String(i)}`);
      if (o !== undefined) held += JSON.stringify(o).length;
    }
    expect(held).toBeLessThanOrEqual(COLD_START_BYTES);
  });
});
