import { describe, expect, it } from 'vitest';
import { ColdStart } from '../../../src/controller/cold-start.js';
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
