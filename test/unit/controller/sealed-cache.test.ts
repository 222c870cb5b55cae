import { describe, expect, it } from 'vitest';
import { PATCH_ANNOTATION } from '../../../src/controller/plan.js';
import { specDigest, summarizeSealed } from '../../../src/controller/sealed-cache.js';
import { nextStatus, statusView } from '../../../src/controller/status.js';
import type { SealedSecretObject } from '../../../src/kube/types.js';
import { sealedObject } from './reconciler-world.js';

const OK = { ok: true, reason: 'Unsealed', message: 'the secret matches the sealed resource' };

/** Every string value in `v`, at any depth. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v !== null && typeof v === 'object') return Object.values(v as Record<string, unknown>).flatMap(strings);
  return [];
}

describe('summarizeSealed', () => {
  it('keeps no ciphertext, no wrapped key and no spec field: identity, generation, flags and digests', async () => {
    const obj = await sealedObject({ password: 'hunter2', token: 't'.repeat(300) });
    const before = structuredClone(obj);
    const s = summarizeSealed({ ...obj, metadata: { ...obj.metadata, annotations: { [PATCH_ANNOTATION]: 'true' } } });
    expect(obj).toEqual(before);
    // its own fields, and the resourceVersion behind a getter (a KeptVersion)
    expect(Object.keys(s).sort()).toEqual(['deleting', 'generation', 'name', 'namespace', 'patch', 'spec', 'status', 'uid']);
    expect(s.metadata).toMatchObject({ name: 'db', namespace: 'prod', uid: 'uid-sealed-db', resourceVersion: '7', generation: 1 });
    expect(s).toMatchObject({ deleting: false, patch: true });
    const text = JSON.stringify(s);
    expect(text).not.toContain('encryptedData');
    // no string of the spec longer than a digest survives
    const long = strings(obj.spec).filter((x) => x.length > 22);
    expect(long.length).toBeGreaterThan(2);
    for (const x of long) expect(text).not.toContain(x);
    expect(text.length).toBeLessThan(300);
  });

  it('sees a deletion in progress', async () => {
    const obj = await sealedObject({ a: 'b' });
    expect(summarizeSealed({ ...obj, metadata: { ...obj.metadata, deletionTimestamp: new Date() } }).deleting).toBe(true);
  });

  it('digests the spec whatever the order of its keys, and tells apart any change', async () => {
    const obj = await sealedObject({ a: 'b' });
    const spec = obj.spec as Record<string, unknown>;
    const reversed = Object.fromEntries(Object.entries(spec).reverse());
    expect(specDigest(reversed)).toBe(specDigest(spec));
    const other = await sealedObject({ a: 'b' });
    expect(specDigest(other.spec)).not.toBe(specDigest(spec));
  });
});

describe('the status view', () => {
  it('lets nextStatus write nothing when the status on the server says the same, and keep the transition time otherwise', () => {
    const first = nextStatus('db', 1, statusView(undefined), OK, ['cert:abc'], new Date('2026-01-01T00:00:00Z'));
    expect(first).toBeDefined();
    const obj: SealedSecretObject = { status: first as unknown as Record<string, unknown> };
    expect(nextStatus('db', 1, statusView(obj.status), OK, ['cert:abc'], new Date())).toBeUndefined();
    const next = nextStatus('db', 2, statusView(obj.status), OK, ['cert:abc'], new Date('2026-02-01T00:00:00Z'));
    expect(next?.conditions[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(nextStatus('db', 1, statusView(obj.status), OK, ['cert:def'], new Date())).toBeDefined();
    expect(nextStatus('db', 1, statusView(obj.status), { ...OK, ok: false }, ['cert:abc'], new Date())?.conditions[0]?.lastTransitionTime).not.toBe('2026-01-01T00:00:00Z');
  });

  it('is one shared object for equal statuses (resources synced together), whatever the copy it is read from', () => {
    const status = nextStatus('db', 1, statusView(undefined), OK, ['cert:abc'], new Date('2026-01-01T00:00:00Z')) as unknown as Record<string, unknown>;
    expect(statusView(structuredClone(status))).toBe(statusView(structuredClone(status)));
    expect(statusView({ ...status, observedGeneration: 2 })).not.toBe(statusView(status));
    // a status someone else wrote with long conditions is read, not shared
    const long = { ...status, conditions: [{ type: 'Ready', status: 'True', reason: 'x', message: 'y', lastTransitionTime: 't'.repeat(600) }] };
    expect(statusView(long)).not.toBe(statusView(structuredClone(long)));
    expect(statusView(long).since[0]?.time).toBe('t'.repeat(600));
  });

  it('takes any shape a user may have written without throwing', () => {
    for (const raw of [null, 'x', 3, { conditions: 'x' }, { conditions: [null, 1, { type: 'Ready', status: 5 }] }]) {
      expect(nextStatus('db', 1, statusView(raw), OK, [], new Date())).toBeDefined();
    }
  });
});
