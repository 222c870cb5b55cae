import { describe, expect, it } from 'vitest';
import { ForeignDeletions, isForeignSecret, isOwnSecret } from '../../../../src/controller/compat/foreign.js';
import type { V1Secret } from '../../../../src/kube/types.js';

const ref = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db', uid: 'u1', controller: true };

function secret(meta: Partial<NonNullable<V1Secret['metadata']>>): V1Secret {
  return { metadata: { name: 'db', namespace: 'prod', ...meta } };
}

describe('compat mode: whose Secret a deleted one was', () => {
  it.each([
    ['controlled by the SealedSecret', secret({ ownerReferences: [ref] }), true, false],
    ['controlled by another SealedSecret of the same name', secret({ ownerReferences: [{ ...ref, uid: 'old' }] }), false, false],
    ['annotated managed', secret({ annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } }), true, false],
    ['annotated patch only', secret({ annotations: { 'sealedsecrets.bitnami.com/patch': 'true' } }), false, true],
    ['owned by something else', secret({ ownerReferences: [{ ...ref, kind: 'ConfigMap', apiVersion: 'v1' }] }), false, true],
    ['plain', secret({}), false, true],
  ])('a Secret %s', (_what, s, own, foreign) => {
    expect(isOwnSecret(s, 'u1')).toBe(own);
    expect(isForeignSecret(s)).toBe(foreign);
  });
});

describe('compat mode: the names other writers just deleted', () => {
  it('asks to wait until the window after the deletion has passed', () => {
    let now = 1000;
    const d = new ForeignDeletions(2000, () => now);
    d.deleted('prod/db');
    expect(d.waitFor('prod/db')).toBe(2000);
    expect(d.waitFor('prod/other')).toBe(0);
    now = 2500;
    expect(d.waitFor('prod/db')).toBe(500);
    now = 3000;
    expect(d.waitFor('prod/db')).toBe(0);
    expect(d.size).toBe(0);
  });

  it('starts the window again when the name is deleted again', () => {
    let now = 0;
    const d = new ForeignDeletions(2000, () => now);
    d.deleted('prod/db');
    now = 1500;
    d.deleted('prod/other');
    d.deleted('prod/db');
    now = 2500;
    expect(d.waitFor('prod/db')).toBe(1000);
    expect(d.waitFor('prod/other')).toBe(1000);
  });

  it('keeps at most 10,000 names, dropping the oldest, however many Secrets are deleted at once', () => {
    let now = 0;
    const d = new ForeignDeletions(60_000, () => now);
    for (let i = 0; i < 10_050; i++) { now = i; d.deleted(`ns/s${String(i)}`); }
    expect(d.size).toBe(10_000);
    expect(d.waitFor('ns/s0')).toBe(0);
    expect(d.waitFor('ns/s10049')).toBeGreaterThan(0);
  });
});
