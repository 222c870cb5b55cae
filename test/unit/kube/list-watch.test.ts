// ListWatch (src/kube/list-watch.ts) against a tiny local HTTP server that
// answers as an API server without the WatchList feature does: it refuses
// sendInitialEvents (422), so the initial list comes in pages, and it lets
// a continue token expire (410). Our kube-apiserver 1.34 serves the stream
// (test/integration/kube-informers.test.ts), so the fallback is shown here.
import type { AddressInfo } from 'node:net';
import * as http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../../src/kube/api.js';
import { KubeError } from '../../../src/kube/errors.js';
import { ListWatch } from '../../../src/kube/list-watch.js';
import type { ListPage } from '../../../src/kube/pager.js';
import { openWatch } from '../../../src/kube/watch-stream.js';
import type { KubeObject } from '../../../src/kube/types.js';

const PATH = '/apis/test.sealbox.dev/v1/namespaces/n/things';
const thing = (name: string, rv: string): KubeObject => ({ apiVersion: 'test.sealbox.dev/v1', kind: 'Thing', metadata: { namespace: 'n', name, resourceVersion: rv } });
const status = (code: number, reason: string, message: string): string => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

/** The server's script: what it answered, in order, and the watch responses it keeps open. */
interface Fake { url: string; seen: string[]; open: http.ServerResponse[]; close(): Promise<void> }

/** Starts a fake on a loopback port; close() also ends the watches it holds open. */
async function listen(server: http.Server, seen: string[], open: http.ServerResponse[]): Promise<Fake> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  return {
    url, seen, open,
    close: () => new Promise<void>((r) => {
      for (const res of open) res.destroy();
      server.close(() => { r(); });
    }),
  };
}

/**
 * Refuses streams; lists [a, b] then [c] at version "20" (the continue token
 * expires once); a watch from "20" gets d (version "21") the first time,
 * and a watch from any other version an ERROR event with code 410.
 */
async function fakeApiServer(): Promise<Fake> {
  const seen: string[] = [];
  const open: http.ServerResponse[] = [];
  let expireToken = true;
  let dSent = false;
  const server = http.createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const send = (code: number, body: string): void => { res.writeHead(code, { 'content-type': 'application/json' }).end(body); };
    if (q.get('watch') === 'true' && q.get('sendInitialEvents') === 'true') {
      seen.push('stream');
      send(422, status(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled'));
    } else if (q.get('watch') === 'true') {
      seen.push(`watch from ${q.get('resourceVersion') ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (q.get('resourceVersion') === '20') {
        // d is created once, after the list
        if (!dSent) res.write(`${JSON.stringify({ type: 'ADDED', object: thing('d', '21') })}\n`);
        dSent = true;
        open.push(res);
      } else {
        res.end(`${JSON.stringify({ type: 'ERROR', object: JSON.parse(status(410, 'Expired', 'too old resource version: 21 (30)')) as unknown })}\n`);
      }
    } else if (q.get('continue') === 't1') {
      seen.push('list page 2');
      if (expireToken) send(410, status(410, 'Expired', 'The provided continue parameter is too old'));
      else send(200, JSON.stringify({ items: [thing('c', '12')], metadata: { resourceVersion: '20' } }));
      expireToken = false;
    } else {
      seen.push('list page 1');
      send(200, JSON.stringify({ items: [thing('a', '10'), thing('b', '11')], metadata: { resourceVersion: '20', continue: 't1' } }));
    }
  });
  return listen(server, seen, open);
}

function kubeConfigFor(server: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }], users: [{ name: 'u' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }], currentContext: 'fake',
  });
  return kc;
}

let fake: Fake | undefined;
afterEach(async () => { await fake?.close(); fake = undefined; });

describe('ListWatch against a server that refuses the streaming list', () => {
  it('falls back to pages, starts the list again when a continue token expired, and watches from the list\'s version', async () => {
    const f = await fakeApiServer();
    fake = f;
    const listPage = async (limit: number, cont: string | undefined): Promise<ListPage<KubeObject>> => {
      const res = await fetch(`${f.url}${PATH}?limit=${String(limit)}${cont === undefined ? '' : `&continue=${cont}`}`);
      const body = await res.json() as { items: KubeObject[]; metadata: { resourceVersion: string; continue?: string } };
      if (res.status !== 200) throw new KubeError(res.status, `list things: HTTP ${String(res.status)}`);
      return { items: body.items, metadata: { resourceVersion: body.metadata.resourceVersion, _continue: body.metadata.continue } };
    };
    let expired = 0;
    const added: string[] = [];
    const inf = new ListWatch(kubeConfigFor(f.url), { resource: 'things', namespace: 'n', path: PATH, pageSize: 2, listPage }, {
      keep: (o) => o.metadata?.name ?? '', onExpired: () => { expired++; },
    });
    inf.on('add', (name) => { added.push(name); });
    await inf.start();
    expect(f.seen).toEqual(['stream', 'list page 1', 'list page 2', 'list page 1', 'list page 2']);
    expect(expired).toBe(1);
    expect(inf.list().sort()).toEqual(['a', 'b', 'c']);
    expect(inf.resourceVersion).toBe('20');
    await waitUntil(() => inf.get('d', 'n') !== undefined);
    expect(f.seen[5]).toBe('watch from 20');
    expect(added).toEqual(['a', 'b', 'c', 'd']);
    await inf.stop();
  });

  it('after a 410 on the watch, lists in pages again without asking for a stream the server refused', async () => {
    const f = await fakeApiServer();
    fake = f;
    const listPage = async (limit: number, cont: string | undefined): Promise<ListPage<KubeObject>> => {
      const res = await fetch(`${f.url}${PATH}?limit=${String(limit)}${cont === undefined ? '' : `&continue=${cont}`}`);
      if (res.status !== 200) throw new KubeError(res.status, `list things: HTTP ${String(res.status)}`);
      const body = await res.json() as { items: KubeObject[]; metadata: { resourceVersion: string; continue?: string } };
      return { items: body.items, metadata: { resourceVersion: body.metadata.resourceVersion, _continue: body.metadata.continue } };
    };
    let expired = 0;
    const inf = new ListWatch(kubeConfigFor(f.url), { resource: 'things', namespace: 'n', path: PATH, pageSize: 2, listPage }, {
      keep: (o) => o.metadata?.name ?? '', onExpired: () => { expired++; },
    });
    const deleted: string[] = [];
    inf.on('delete', (name) => { deleted.push(name); });
    await inf.start();
    await waitUntil(() => inf.get('d', 'n') !== undefined);
    // the watch from "21" (d's version) gets an ERROR event with code 410: the list starts over, in pages at once
    f.open.splice(0).forEach((res) => { res.end(); });
    await waitUntil(() => f.seen.length === 10);
    expect(expired).toBe(2);
    expect(f.seen.slice(5)).toEqual(['watch from 20', 'watch from 21', 'list page 1', 'list page 2', 'watch from 20']);
    // the relist replaced the cache: d, which it did not deliver, is gone with a 'delete'
    expect(inf.list().sort()).toEqual(['a', 'b', 'c']);
    expect(deleted).toEqual(['d']);
    await inf.stop();
  });
});

describe('KubeApi\'s informers', () => {
  it.each(['sealed', 'secret'] as const)('report a list started again after a 410 to KubeApi\'s onExpired, with the resource and namespace (%s informer)', async (kind) => {
    const f = await fakeApiServer();
    fake = f;
    const expired: string[] = [];
    const api = new KubeApi(kubeConfigFor(f.url), { qps: 100, burst: 100, onExpired: (resource, namespace) => { expired.push(`${resource} in ${String(namespace)}`); } });
    const name = (o: KubeObject): string => o.metadata?.name ?? '';
    const inf = kind === 'sealed' ? api.sealedInformer('n', name) : api.secretInformer('a=b', 'n', name);
    await inf.start();
    // the continue token of the first paged list expired once
    expect(f.seen.slice(0, 5)).toEqual(['stream', 'list page 1', 'list page 2', 'list page 1', 'list page 2']);
    expect(expired).toEqual([`${kind === 'sealed' ? 'sealedsecrets' : 'secrets'} in n`]);
    await waitUntil(() => inf.get('d', 'n') !== undefined);
    // the watch from "21" gets a 410: listed again, and reported again
    f.open.splice(0).forEach((res) => { res.end(); });
    await waitUntil(() => expired.length === 2);
    await inf.stop();
  });
});

/** Polls `ok` until it holds, for up to 5 s. */
async function waitUntil(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ListWatch failures', () => {
  it('reports a watch line that is not JSON through \'error\' without any of its text (a Secret\'s values may be in it)', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"type":"ADDED","object":{"kind":"Secret","data":{"password":"aHVudGVyMg=="\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
      const errors: unknown[] = [];
      const inf = new ListWatch(kubeConfigFor(url), { resource: 'secrets', namespace: 'n', path: '/api/v1/namespaces/n/secrets', pageSize: 10, listPage: () => Promise.reject(new Error('not listed')) }, { keep: (o: KubeObject) => o });
      inf.on('error', (e) => { errors.push(e); });
      await inf.start();
      await inf.stop();
      expect(errors).toHaveLength(1);
      const err = errors[0];
      expect(err).toBeInstanceOf(KubeError);
      expect((err as KubeError).message).toBe('watch secrets in n: a watch event was not valid JSON');
      expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain('aHVudGVyMg');
    } finally {
      await new Promise<void>((r) => server.close(() => { r(); }));
    }
  });
});

describe('openWatch', () => {
  it('reads an event that arrives in pieces, a multi-byte character cut between two of them, and the events around it', async () => {
    const big = `é${'x'.repeat(200_000)}€`;
    const line = Buffer.from(`${JSON.stringify({ type: 'ADDED', object: thing(big, '2') })}\n`);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: thing('a', '1') })}\n`);
      // 'é' is two bytes: the first piece ends inside it
      const cut = line.indexOf(Buffer.from('é')) + 1;
      res.write(line.subarray(0, cut));
      setTimeout(() => { res.write(line.subarray(cut, 100_000)); }, 20);
      setTimeout(() => { res.end(Buffer.concat([line.subarray(100_000), Buffer.from(`${JSON.stringify({ type: 'DELETED', object: thing('a', '3') })}\n`)])); }, 40);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const names: string[] = [];
      const w = openWatch(kubeConfigFor(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}`), PATH, {}, (e) => {
        names.push(`${e.type} ${String((e.object as KubeObject).metadata?.name)}`);
      });
      expect(await w.ended).toEqual({ kind: 'closed' });
      expect(names).toEqual(['ADDED a', `ADDED ${big}`, 'DELETED a']);
    } finally {
      await new Promise<void>((r) => server.close(() => { r(); }));
    }
  });
});

/**
 * Serves a streaming initial list of a and b; the end bookmark only when
 * `ends` (else the stream stays open and silent). Lists [a, b] at version
 * "5" in one page; a watch from "5" stays open.
 */
async function streamingServer(ends: boolean, urls: string[] = []): Promise<Fake> {
  const seen: string[] = [];
  const open: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    urls.push(req.url ?? '');
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const event = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;
    if (q.get('watch') !== 'true') {
      seen.push('list');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [thing('a', '3'), thing('b', '4')], metadata: { resourceVersion: '5' } }));
      return;
    }
    seen.push(q.get('sendInitialEvents') === 'true' ? 'stream' : `watch from ${q.get('resourceVersion') ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    open.push(res);
    if (q.get('sendInitialEvents') !== 'true') return;
    res.write(event('ADDED', thing('a', '3')) + event('ADDED', thing('b', '4')));
    if (ends) res.write(event('BOOKMARK', { kind: 'Thing', apiVersion: 'test.sealbox.dev/v1', metadata: { resourceVersion: '5', annotations: { 'k8s.io/initial-events-end': 'true' } } }));
  });
  return listen(server, seen, open);
}

function pagesOf(f: Fake): (limit: number, cont: string | undefined) => Promise<ListPage<KubeObject>> {
  return async () => {
    const res = await fetch(`${f.url}${PATH}`);
    const body = await res.json() as { items: KubeObject[]; metadata: { resourceVersion: string } };
    return { items: body.items, metadata: { resourceVersion: body.metadata.resourceVersion } };
  };
}

describe('ListWatch with a streaming initial list that never ends', () => {
  it('gives a stream that goes silent before its end bookmark up for pages, and syncs', async () => {
    const f = await streamingServer(false);
    fake = f;
    const inf = new ListWatch(kubeConfigFor(f.url), { resource: 'things', namespace: 'n', path: PATH, pageSize: 10, listPage: pagesOf(f) }, {
      keep: (o) => o.metadata?.name ?? '', streamIdleMs: 300,
    });
    const errors: unknown[] = [];
    inf.on('error', (e) => { errors.push(e); });
    const started = Date.now();
    await inf.start();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(inf.list().sort()).toEqual(['a', 'b']);
    await waitUntil(() => f.seen.length === 3);
    expect(f.seen).toEqual(['stream', 'list', 'watch from 5']);
    expect(errors).toEqual([]);
    await inf.stop();
  });

  it('does not count the time its own handler takes (back-pressure) as silence', async () => {
    const f = await streamingServer(true);
    fake = f;
    const inf = new ListWatch(kubeConfigFor(f.url), { resource: 'things', namespace: 'n', path: PATH, pageSize: 10, listPage: pagesOf(f) }, {
      keep: (o) => o.metadata?.name ?? '', streamIdleMs: 300,
      onListed: () => new Promise((r) => setTimeout(r, 500)),
    });
    await inf.start();
    expect(inf.list().sort()).toEqual(['a', 'b']);
    // the stream goes on as the watch: no list, no second request, even after another idle period
    await new Promise((r) => setTimeout(r, 500));
    expect(f.seen).toEqual(['stream']);
    await inf.stop();
  });

  it('asks the server for hours before it ends the stream: a back-pressured initial list of 40,000 outlived its default 30 to 60 min and started over', async () => {
    const urls: string[] = [];
    const f = await streamingServer(true, urls);
    fake = f;
    const inf = new ListWatch(kubeConfigFor(f.url), { resource: 'things', namespace: 'n', path: PATH, pageSize: 10, listPage: pagesOf(f) }, { keep: (o) => o.metadata?.name ?? '' });
    await inf.start();
    await inf.stop();
    const q = new URL(urls[0] ?? '/', 'http://x').searchParams;
    expect(q.get('sendInitialEvents')).toBe('true');
    expect(Number(q.get('timeoutSeconds'))).toBeGreaterThanOrEqual(6 * 3600);
  });
});
