// The informers of src/kube (list-watch.ts) against the real API server:
// the streaming initial list (served by kube-apiserver 1.34: WatchList is
// beta and on), the paged one, what the cache holds, the clean relist after
// an expired resourceVersion (410), and the memory an initial list takes.
// The fallback from a refused stream to pages: test/unit/kube/list-watch.test.ts.
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealedInformer } from '../../src/kube/informers.js';
import type { InformerClients } from '../../src/kube/informers.js';
import { KubeError } from '../../src/kube/errors.js';
import { ListWatch } from '../../src/kube/list-watch.js';
import type { ListPage } from '../../src/kube/pager.js';
import type { KubeObject, SealedSecretObject } from '../../src/kube/types.js';
import { openWatch } from '../../src/kube/watch-stream.js';
import { apiErrorCode, eventually, kubeConfig, kubeObject, useNamespace } from '../cluster/helpers.js';

const ns = useNamespace('kube-informers');
const SEALED = { group: 'sealbox.dev', version: 'v1', plural: 'sealedsecrets' } as const;
/** More than two pages of 500. */
const COUNT = 1200;
/** Ciphertext per sealed resource: 1,200 of them make about 10 MB of JSON. */
const VALUE = `sb1:0123456789abcdef:${randomBytes(6000).toString('base64')}`;

function clients(requests: string[]): InformerClients {
  const kc = kubeConfig();
  return { core: kc.makeApiClient(k8s.CoreV1Api), custom: kc.makeApiClient(k8s.CustomObjectsApi), onRequest: (verb, resource) => { requests.push(`${verb} ${resource}`); } };
}

/** Runs `fn` on each item, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

async function serverNames(): Promise<Map<string, string>> {
  const list = await kubeConfig().makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({ ...SEALED, namespace: ns.name }) as { items: SealedSecretObject[] };
  return new Map(list.items.map((o) => [o.metadata?.name ?? '', o.metadata?.resourceVersion ?? '']));
}

describe('the sealed resource informer', () => {
  beforeAll(async () => {
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const names = Array.from({ length: COUNT }, (_, i) => `s-${String(i).padStart(4, '0')}`);
    await inParallel(names, 16, (name) => custom.createNamespacedCustomObject({
      ...SEALED, namespace: ns.name,
      body: { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', metadata: { name }, spec: { scope: 'strict', encryptedData: { v: VALUE } } },
    }));
  }, 300_000);

  it('lists 1,200 sealed resources in three pages of 500 when not streaming, and caches exactly the server\'s objects', async () => {
    const requests: string[] = [];
    const inf = sealedInformer(kubeConfig(), clients(requests), ns.name, (s) => s.metadata?.resourceVersion, { stream: false });
    await inf.start();
    await inf.stop();
    expect(requests).toEqual(['list sealedsecrets', 'list sealedsecrets', 'list sealedsecrets', 'watch sealedsecrets']);
    const server = await serverNames();
    expect(server.size).toBe(COUNT);
    expect(new Map([...server.keys()].map((n) => [n, inf.get(n, ns.name)]))).toEqual(server);
    expect(inf.list()).toHaveLength(COUNT);
  });

  it('streams the initial list where the server serves it: one watch request and no list', async () => {
    const requests: string[] = [];
    const added: string[] = [];
    const inf = sealedInformer(kubeConfig(), clients(requests), ns.name, (s) => s.metadata?.resourceVersion);
    inf.on('add', (rv) => { added.push(rv ?? ''); });
    await inf.start();
    await inf.stop();
    expect(requests).toEqual(['watch sealedsecrets']);
    const server = await serverNames();
    expect(new Map([...server.keys()].map((n) => [n, inf.get(n, ns.name)]))).toEqual(server);
    expect(added.sort()).toEqual([...server.values()].sort());
  });

  it.each([true, false])('holds at most a page of the initial list at a time, never all of it (streaming %s)', async (stream) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let n = 0;
    const inf = sealedInformer(kubeConfig(), clients([]), ns.name, (s) => s.metadata?.name, { stream });
    // 'add' fires as each object enters the cache: what the heap holds then, garbage collected, is what listing keeps alive
    inf.on('add', () => {
      if (++n % 50 !== 0) return;
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    });
    await inf.start();
    await inf.stop();
    expect(n).toBe(COUNT);
    // the same list held whole, as one response parsed at once
    gc();
    const before = process.memoryUsage().heapUsed;
    const whole = await kubeConfig().makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({ ...SEALED, namespace: ns.name }) as { items: unknown[] };
    gc();
    const full = process.memoryUsage().heapUsed - before;
    expect(whole.items).toHaveLength(COUNT);
    expect(full).toBeGreaterThan(8 * 1024 * 1024);
    // a page is 500 of the 1,200; a stream holds one object at a time
    expect(peak, `peak ${String(peak)} B against ${String(full)} B for the whole list`).toBeLessThan(full * (stream ? 0.15 : 0.6));
  });
});

/** A CRD of this file's own: changing its spec makes the API server build new storage (and a new watch cache). */
function relistCrd(group: string): k8s.V1CustomResourceDefinition {
  return kubeObject<k8s.V1CustomResourceDefinition>({
    metadata: { name: `gadgets.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { kind: 'Gadget', listKind: 'GadgetList', plural: 'gadgets', singular: 'gadget' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
    },
  });
}

describe('after an expired resourceVersion (410)', () => {
  const group = `g${randomBytes(3).toString('hex')}.informers.sealbox.test`;
  const crdName = `gadgets.${group}`;
  const ext = (): k8s.ApiextensionsV1Api => kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
  const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const gadgets = { group, version: 'v1', plural: 'gadgets' };
  const create = (name: string): Promise<unknown> => custom().createNamespacedCustomObject({ ...gadgets, namespace: ns.name, body: { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name } } });

  beforeAll(async () => {
    await ext().createCustomResourceDefinition({ body: relistCrd(group) });
    await eventually('the gadget crd to be served', async () => (await custom().listNamespacedCustomObject({ ...gadgets, namespace: ns.name })) as unknown);
  });
  afterAll(async () => {
    try {
      await ext().deleteCustomResourceDefinition({ name: crdName });
    } catch (err) {
      if (apiErrorCode(err) !== 404) throw err;
    }
  });

  function gadgetInformer(stream: boolean, requests: string[], expired: () => void): ListWatch<KubeObject, string | undefined> {
    return new ListWatch(kubeConfig(), {
      resource: 'gadgets', namespace: ns.name, path: `/apis/${group}/v1/namespaces/${ns.name}/gadgets`, pageSize: 2,
      listPage: async (limit, cont): Promise<ListPage<KubeObject>> => {
        try {
          const res = await custom().listNamespacedCustomObject({ ...gadgets, namespace: ns.name, limit, ...(cont === undefined ? {} : { _continue: cont }) }) as { items: KubeObject[]; metadata: { resourceVersion?: string; continue?: string } };
          return { items: res.items, metadata: { resourceVersion: res.metadata.resourceVersion, _continue: res.metadata.continue } };
        } catch (err) {
          throw new KubeError(apiErrorCode(err) ?? 0, 'list gadgets');
        }
      },
    }, { keep: (o) => o.metadata?.name, stream, onExpired: expired, onRequest: (verb) => { requests.push(verb); } });
  }

  it.each([true, false])('lists again from scratch: what was deleted meanwhile leaves the cache with \'delete\' (streaming %s)', async (stream) => {
    const prefix = stream ? 'st' : 'pg';
    for (const i of [1, 2, 3]) await create(`${prefix}-${String(i)}`);
    const requests: string[] = [];
    let expired = 0;
    const inf = gadgetInformer(stream, requests, () => { expired++; });
    const deleted: (string | undefined)[] = [];
    inf.on('delete', (name) => { deleted.push(name); });
    await inf.start();
    expect(inf.list().filter((n) => n?.startsWith(prefix)).sort()).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
    await inf.stop();
    const old = inf.resourceVersion;
    await custom().deleteNamespacedCustomObject({ ...gadgets, namespace: ns.name, name: `${prefix}-1` });
    await create(`${prefix}-4`);
    // a new printer column: the API server replaces the resource's storage, whose new watch cache starts after `old`
    const crd = await ext().readCustomResourceDefinition({ name: crdName });
    const version = crd.spec.versions[0];
    if (version === undefined) throw new Error('the gadget crd has no version');
    version.additionalPrinterColumns = [{ name: `c${prefix}`, type: 'string', jsonPath: '.metadata.name' }];
    await ext().replaceCustomResourceDefinition({ name: crdName, body: crd });
    // the precondition, seen for real: a watch from `old` now ends in a 410
    await eventually('a watch from the old resourceVersion to expire', async () => {
      let code: unknown;
      const w = openWatch(kubeConfig(), `/apis/${group}/v1/namespaces/${ns.name}/gadgets`, { resourceVersion: old, timeoutSeconds: '1' }, (e) => { if (e.type === 'ERROR') code = e.object.code; });
      await w.ended;
      return code === 410 ? true : undefined;
    });
    requests.length = 0;
    await inf.start();
    await eventually('the informer to relist', () => Promise.resolve(expired > 0 && inf.get(`${prefix}-4`, ns.name) !== undefined ? true : undefined), 20_000);
    await inf.stop();
    expect(expired).toBe(1);
    // resumed the watch, got the 410, then listed (pages of 2: three pages for st-*/pg-* of both runs) or streamed again
    expect(requests[0]).toBe('watch');
    expect(requests.slice(1)).toContain(stream ? 'watch' : 'list');
    expect(inf.get(`${prefix}-1`, ns.name)).toBeUndefined();
    expect(deleted).toEqual([`${prefix}-1`]);
    expect(inf.list().filter((n) => n?.startsWith(prefix)).sort()).toEqual([`${prefix}-2`, `${prefix}-3`, `${prefix}-4`]);
  });
});
