// Attack review of the slot buffer (9ae5a2b): the cache against a plain LRU model.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataKeyCache } from '../../../src/crypto/key-cache.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('DataKeyCache against an LRU model', () => {
  for (const max of [1, 2, 3, 63, 64, 65, 129, 1e15]) {
    it(`size ${String(max)}: every get returns the model's bytes, length included`, () => {
      const buffers: Uint8Array[] = [];
      const c = new DataKeyCache(max, (n) => { const b = new Uint8Array(n); buffers.push(b); return b; });
      const model = new Map<string, Buffer>();
      const r = rng(max % 1000 + 7);
      const lens = [16, 24, 32, 1, 31, 33, 0];
      const dropped: Buffer[] = [];
      for (let i = 0; i < 20_000; i++) {
        const id = `k${String(Math.floor(r() * Math.min(300, max * 3 + 2)))}`;
        const op = r();
        if (op < 0.5) {
          const len = lens[Math.floor(r() * lens.length)] ?? 32;
          const k = randomBytes(len);
          c.set(id, k);
          if (len >= 1 && len <= 32) {
            const old = model.get(id);
            if (old !== undefined) dropped.push(old);
            model.delete(id);
            model.set(id, Buffer.from(k));
            while (model.size > max) {
              const [o, v] = model.entries().next().value as [string, Buffer];
              model.delete(o);
              dropped.push(v);
            }
          }
          k.fill(0);
        } else if (op < 0.999) {
          const got = c.get(id);
          const want = model.get(id);
          if (want === undefined) expect(got).toBeUndefined();
          else {
            expect(got === undefined ? undefined : Buffer.from(got).toString('hex')).toBe(want.toString('hex'));
            model.delete(id);
            model.set(id, want);
          }
        } else {
          c.clear();
          for (const v of model.values()) dropped.push(v);
          model.clear();
        }
        expect(c.size).toBe(model.size);
      }
      // no key that left the cache is in any buffer it made (16+-byte keys only: short ones match by chance)
      const live = new Set([...model.values()].map((v) => v.toString('hex')));
      for (const d of dropped) {
        if (d.length < 16 || live.has(d.toString('hex'))) continue;
        for (const b of buffers) expect(Buffer.from(b).includes(d)).toBe(false);
      }
    });
  }
});
