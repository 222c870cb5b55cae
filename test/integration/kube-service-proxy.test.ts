// KubeApi.serviceProxy through the real API server's service proxy: a
// Service without a selector whose Endpoints name a recording HTTP server on
// this machine's own (non-loopback) address, so what reaches the service is
// what sealbox sent, after the API server passed it on.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApi } from '../../src/kube/api.js';
import { createServiceAccount, eventually, kubeConfig, kubeObject, useNamespace } from '../cluster/helpers.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

const ns = useNamespace('service-proxy');
const seen: Seen[] = [];
let server: Server | undefined;

/** The first IPv4 address of this machine that is not loopback: the API server refuses loopback endpoints. */
function hostAddress(): string {
  const ip = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (ip === undefined) throw new Error('this machine has no non-loopback IPv4 address for the endpoints of the test service');
  return ip;
}

async function record(req: IncomingMessage): Promise<Seen> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return { method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void record(req).then((s) => {
      seen.push(s);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('recorded');
    });
  });
  server.listen(0, '0.0.0.0');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedService({ namespace: ns.name, body: kubeObject<k8s.V1Service>({ metadata: { name: 'peer' }, spec: { ports: [{ name: 'http', port: 80, targetPort: port }] } }) });
  // The API server's service proxy resolves through the Endpoints, and goes
  // only to an address that a Pod in the namespace reports as its own: a
  // Pod that never runs, whose status (written here) claims this address.
  const ip = hostAddress();
  await createServiceAccount(ns.name, 'default');
  await core.createNamespacedPod({ namespace: ns.name, body: kubeObject<k8s.V1Pod>({ metadata: { name: 'peer' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'peer', image: 'none' }] } }) });
  await core.replaceNamespacedPodStatus({ name: 'peer', namespace: ns.name, body: kubeObject<k8s.V1Pod>({ metadata: { name: 'peer' }, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }) });
  await core.createNamespacedEndpoints({
    namespace: ns.name,
    body: kubeObject<k8s.V1Endpoints>({
      metadata: { name: 'peer' },
      subsets: [{ addresses: [{ ip, targetRef: { kind: 'Pod', namespace: ns.name, name: 'peer' } }], ports: [{ name: 'http', port }] }],
    }),
  });
  // The API server routes through its own caches of Services and slices,
  // which catch up a moment after the writes.
  const api = new KubeApi(kubeConfig(), { qps: 50, burst: 50 });
  await eventually('the service proxy to reach the test server', async () => {
    const res = await api.serviceProxy('GET', ns.name, 'peer:http', '/ready');
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body}`);
    return true;
  });
});

afterAll(() => {
  server?.close();
});

describe('the service proxy', () => {
  it('sends a JSON body (a re-wrap request) as application/json', async () => {
    seen.length = 0;
    const api = new KubeApi(kubeConfig(), { qps: 50, burst: 50 });
    const body = JSON.stringify({ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret' });
    const res = await api.serviceProxy('POST', ns.name, 'peer:http', '/v1/rewrap', body);
    expect(res).toEqual({ status: 200, body: 'recorded' });
    expect(seen).toEqual([{ method: 'POST', url: '/v1/rewrap', contentType: 'application/json', body }]);
  });

  it('sends a GET without a content type', async () => {
    seen.length = 0;
    const api = new KubeApi(kubeConfig(), { qps: 50, burst: 50 });
    const res = await api.serviceProxy('GET', ns.name, 'peer:http', '/v1/cert.pem');
    expect(res.status).toBe(200);
    expect(seen).toEqual([{ method: 'GET', url: '/v1/cert.pem', contentType: undefined, body: '' }]);
  });
});
