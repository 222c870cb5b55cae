// The data-key cache (src/crypto/key-cache.ts): least recently used out,
// keys copied in and out, no key bytes left behind in memory it let go,
// and a heap cost per key near its 32 bytes (issue 17 §1).
import { randomBytes } from 'node:crypto';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DataKeyCache } from '../../../src/crypto/key-cache.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && Buffer.from(a).equals(b);

/** A cache whose slot buffers are kept in `buffers`, in the order it made them. */
function watched(max: number): { cache: DataKeyCache; buffers: Uint8Array[] } {
  const buffers: Uint8Array[] = [];
  const cache = new DataKeyCache(max, (n) => {
    const b = new Uint8Array(n);
    buffers.push(b);
    return b;
  });
  return { cache, buffers };
}

/** True when `key` appears anywhere in `buf`. */
const holds = (buf: Uint8Array, key: Uint8Array): boolean => Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).includes(Buffer.from(key));

describe('DataKeyCache', () => {
  it('returns copies of what was set, and misses what was not', () => {
    const c = new DataKeyCache(4);
    const k = randomBytes(32);
    const original = Buffer.from(k);
    c.set('a', k);
    k.fill(1); // the caller zeroes what it passed in
    const got = c.get('a');
    expect(same(got, original)).toBe(true);
    got?.fill(0); // and what it got
    expect(same(c.get('a'), original)).toBe(true);
    expect(c.get('b')).toBeUndefined();
    expect([c.hits, c.misses]).toEqual([2, 1]);
  });

  it('keeps keys of 1 to 32 bytes with their length, and does not cache longer or empty ones', () => {
    const c = new DataKeyCache(8);
    for (const n of [1, 16, 24, 31, 32]) {
      const k = randomBytes(n);
      c.set(`k${String(n)}`, k);
      expect(same(c.get(`k${String(n)}`), k)).toBe(true);
    }
    c.set('long', randomBytes(33));
    c.set('empty', new Uint8Array(0));
    expect(c.get('long')).toBeUndefined();
    expect(c.get('empty')).toBeUndefined();
    expect(c.size).toBe(5);
  });

  it('drops the least recently used key past its size (a read counts as a use); size 0 caches nothing', () => {
    const c = new DataKeyCache(3);
    const [a, b, cc, d] = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(32)];
    c.set('a', a); c.set('b', b); c.set('c', cc);
    c.get('a'); // b is now the oldest
    c.set('d', d);
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([same(c.get('a'), a), same(c.get('c'), cc), same(c.get('d'), d)]).toEqual([true, true, true]);
    c.set('a', b); // new bytes for a cached key: still one entry
    expect(c.size).toBe(3);
    expect(same(c.get('a'), b)).toBe(true);
    const none = new DataKeyCache(0);
    none.set('a', a);
    expect([none.get('a'), none.size]).toEqual([undefined, 0]);
  });

  it('keeps every key as it grows, and leaves no key bytes in an evicted slot, an outgrown buffer or after clear()', () => {
    const { cache, buffers } = watched(200);
    const keys = Array.from({ length: 200 }, () => randomBytes(32));
    for (const [i, k] of keys.entries()) cache.set(String(i), k);
    expect(buffers.map((b) => b.length / 32)).toEqual([64, 128, 200]);
    for (const [i, k] of keys.entries()) expect(same(cache.get(String(i)), k)).toBe(true);
    for (const old of buffers.slice(0, -1)) expect(old.every((x) => x === 0)).toBe(true);
    const now = buffers.at(-1) ?? new Uint8Array(0);
    cache.set('new', randomBytes(32)); // evicts key 0 (least recently used)
    expect(holds(now, keys[0] ?? Buffer.alloc(32))).toBe(false);
    expect(holds(now, keys[1] ?? Buffer.alloc(32))).toBe(true);
    cache.set('1', randomBytes(16)); // a shorter key over a longer one: no tail of the old one
    expect(holds(now, (keys[1] ?? Buffer.alloc(32)).subarray(16))).toBe(false);
    cache.clear();
    expect([cache.size, now.every((x) => x === 0)]).toEqual([0, true]);
    cache.set('after', keys[5] ?? Buffer.alloc(32));
    expect(same(cache.get('after'), keys[5] ?? Buffer.alloc(32))).toBe(true);
  });

  it('drops every key when a sealing key it was told of is gone, and none when one is added (keysNow)', () => {
    const { cache, buffers } = watched(8);
    const k = randomBytes(32);
    cache.keysNow(new Set(['old']));
    cache.set('a', k);
    cache.keysNow(new Set(['old', 'new'])); // a key added
    expect(same(cache.get('a'), k)).toBe(true);
    cache.keysNow(new Set(['new'])); // the old key removed
    expect([cache.get('a'), cache.size]).toEqual([undefined, 0]);
    expect(buffers.every((b) => !holds(b, k))).toBe(true);
  });

  it('costs about a map entry per key beside its slot: under 120 bytes of heap, with 44-character ids', async () => {
    const n = 50_000;
    const ids = Array.from({ length: n }, () => randomBytes(32).toString('base64'));
    const key = randomBytes(32);
    await new Promise((r) => setTimeout(r, 50));
    gc(); gc();
    const before = getHeapStatistics().used_heap_size;
    const c = new DataKeyCache(n);
    for (const id of ids) c.set(id, key);
    gc(); gc();
    const perKey = (getHeapStatistics().used_heap_size - before) / n;
    // one Uint8Array per key (before) cost about 200 bytes more: its object and its ArrayBuffer
    expect(perKey).toBeLessThan(120);
    expect(c.size).toBe(n);
  });
});
