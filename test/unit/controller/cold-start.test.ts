import { describe, expect, it } from 'vitest';
import { COLD_START_BYTES, ColdStart } from '../../../src/controller/cold-start.js';
import type { SealedSecretObject } from '../../../src/kube/types.js';

const obj = (i: number): SealedSecretObject => ({ metadata: { namespace: 'ns', name: `r${String(i)}`, resourceVersion: String(i) }, spec: { big: 'x'.repeat(100) } });

/** True when `p` has settled after the current microtasks. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => { done = true; });
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('ColdStart', () => {
  it('holds what the list offers and enqueues it; the list waits while more than half the places are taken', async () => {
    const queued: string[] = [];
    const c = new ColdStart(4, (k) => queued.push(k));
    expect(await settled(c.offer(obj(1)))).toBe(true);
    expect(await settled(c.offer(obj(2)))).toBe(true);
    const third = c.offer(obj(3));
    expect(await settled(third)).toBe(false);
    expect(queued).toEqual(['ns/r1', 'ns/r2', 'ns/r3']);
    expect(c.take('ns/r1')?.metadata?.name).toBe('r1');
    expect(c.take('ns/r1')).toBeUndefined();
    expect(await settled(third)).toBe(true);
    expect(c.size).toBe(2);
  });

  it('never holds more than its bound, even for a lister that does not wait; the rest are enqueued for a GET', () => {
    const queued: string[] = [];
    const c = new ColdStart(3, (k) => queued.push(k));
    for (let i = 0; i < 10; i++) void c.offer(obj(i));
    expect(c.size).toBe(3);
    expect(queued).toHaveLength(10);
    expect(c.take('ns/r9')).toBeUndefined();
  });

  it("claims the informer's 'add' of an offered key once, so it is not reconciled twice", () => {
    const c = new ColdStart(10, () => undefined);
    void c.offer(obj(1));
    expect(c.claimAdded('ns/r1')).toBe(true);
    expect(c.claimAdded('ns/r1')).toBe(false);
    expect(c.claimAdded('ns/r2')).toBe(false);
  });

  it('lets a waiting lister go on when cleared (on stop)', async () => {
    const c = new ColdStart(2, () => undefined);
    void c.offer(obj(1));
    const waiting = c.offer(obj(2));
    expect(await settled(waiting)).toBe(false);
    c.clear();
    expect(await settled(waiting)).toBe(true);
    expect(c.size).toBe(0);
  });
});

describe('ColdStart with large sealed resources', () => {
  /** A sealed resource of about 1.4 MB, as large as a tenant may make one. */
  const large = (i: number): SealedSecretObject => ({ metadata: { namespace: 'tenant', name: `big${String(i)}`, resourceVersion: String(i) }, spec: { encryptedData: { v: 'A'.repeat(1_398_200) } } });

  it('holds at most its byte bound of them, whatever the count allows (1,000 of 1.4 MB were 1.4 GB of heap)', () => {
    const c = new ColdStart(1000, () => undefined);
    for (let i = 0; i < 60; i++) void c.offer(large(i));
    expect(c.bytes).toBeLessThanOrEqual(COLD_START_BYTES);
    expect(c.size * 1_398_200).toBeLessThanOrEqual(COLD_START_BYTES);
    expect(c.size).toBeGreaterThan(0);
  });

  it('makes the list wait once half the bytes are held, and lets it go on when a reconcile takes one', async () => {
    const c = new ColdStart(1000, () => undefined, 4_000_000);
    expect(await settled(c.offer(large(1)))).toBe(true);
    const second = c.offer(large(2));
    expect(await settled(second)).toBe(false);
    expect(c.size).toBe(2);
    // a third does not fit: not held (its reconcile GETs it), and the list still waits
    expect(await settled(c.offer(large(3)))).toBe(false);
    expect(c.size).toBe(2);
    expect(c.take('tenant/big1')?.metadata?.name).toBe('big1');
    expect(await settled(second)).toBe(true);
    expect(c.bytes).toBeLessThanOrEqual(2_000_000);
  });
});
