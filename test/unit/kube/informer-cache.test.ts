import { describe, expect, it } from 'vitest';
import { InformerCache } from '../../../src/kube/informer-cache.js';
import { NamespacedMap } from '../../../src/kube/namespaced-map.js';
import type { KubeObject } from '../../../src/kube/types.js';

const obj = (namespace: string, name: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'Thing', metadata: { namespace, name, resourceVersion: rv } });

describe('NamespacedMap', () => {
  it('keys entries by namespace and name, counts them, and forgets an emptied namespace', () => {
    const m = new NamespacedMap<number>();
    m.set('a', 'x', 1);
    m.set('a', 'y', 2);
    m.set('b', 'x', 3);
    m.set('a', 'x', 4);
    expect([m.size, m.get('a', 'x'), m.get('b', 'x'), m.get('b', 'y'), m.has('a', 'y')]).toEqual([3, 4, 3, undefined, true]);
    expect([...m.values('a')]).toEqual([4, 2]);
    expect([...m.values()]).toEqual([4, 2, 3]);
    expect([...m.keys()]).toEqual([['a', 'x'], ['a', 'y'], ['b', 'x']]);
    for (const [ns, name] of m.keys()) m.delete(ns, name);
    expect([m.size, [...m.values()], m.delete('a', 'x')]).toEqual([0, [], false]);
  });
});

describe('InformerCache', () => {
  it('keeps what keep returns, given the entry it replaces, and tells add, update and delete', () => {
    const seenOld: (string | undefined)[] = [];
    const cache = new InformerCache<KubeObject, { metadata: { resourceVersion?: string }; n: number }>((o, old) => {
      seenOld.push(old?.metadata.resourceVersion);
      return { metadata: { resourceVersion: o.metadata?.resourceVersion }, n: (old?.n ?? 0) + 1 };
    });
    const told: string[] = [];
    for (const verb of ['add', 'update', 'delete'] as const) cache.on(verb, (e) => told.push(`${verb} ${String(e.n)}`));
    cache.put(obj('ns', 'a', '1'));
    cache.put(obj('ns', 'a', '1')); // delivered again unchanged (a relist): no update
    cache.put(obj('ns', 'a', '2'));
    expect(cache.get('ns', 'a')?.n).toBe(2);
    cache.remove(obj('ns', 'a', '3'));
    expect(seenOld).toEqual([undefined, '1']);
    expect(told).toEqual(['add 1', 'update 2', 'delete 2']);
    expect(cache.list()).toEqual([]);
  });

  it('ends an initial list by deleting what was cached before it and it did not deliver', () => {
    const cache = new InformerCache<KubeObject, string>((o) => o.metadata?.name ?? '');
    for (const name of ['a', 'b', 'c']) cache.put(obj('ns', name, '1'));
    const deleted: string[] = [];
    cache.on('delete', (name) => deleted.push(name));
    const unseen = cache.unseen();
    for (const name of ['b', 'd']) {
      InformerCache.seen(unseen, obj('ns', name, '2'));
      cache.put(obj('ns', name, '2'));
    }
    cache.replaced(unseen);
    expect(deleted.sort()).toEqual(['a', 'c']);
    expect(cache.list('ns').sort()).toEqual(['b', 'd']);
  });
});
