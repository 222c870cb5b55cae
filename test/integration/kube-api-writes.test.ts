// KubeApi's hot writes (Secret create/replace, status patch, Event create)
// go as plain JSON over the keep-alive agent (node:https), not through client-node
// (src/kube/transport.ts). Against the real API server: what they store, the
// field manager they name, and the HTTP status their failures keep.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeApi } from '../../src/kube/api.js';
import { KubeError } from '../../src/kube/errors.js';
import { CREDENTIALS_TTL_MS } from '../../src/kube/transport.js';
import { createServiceAccount, kubeConfig, kubeConfigForToken, kubeconfigPath, serviceAccountToken, useNamespace } from '../cluster/helpers.js';

const ns = useNamespace('kube-writes');

/** The rejection of `p`, which must be a KubeError. */
async function kubeErrorFrom(p: Promise<unknown>): Promise<KubeError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KubeError);
  return err as KubeError;
}

describe('KubeApi writes', () => {
  it('creates and replaces a Secret as sealbox-controller, counts each request, and keeps 409 on a second create and on a stale replace', async () => {
    const sent: string[] = [];
    const api = new KubeApi(kubeConfig(), { qps: 100, burst: 100, onRequest: (verb, resource) => { sent.push(`${verb} ${resource}`); } });
    const body: k8s.V1Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain', namespace: ns.name, labels: { a: 'b' } }, type: 'Opaque', data: { k: Buffer.from('v1').toString('base64') } };
    const created = await api.createSecret(body);
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.managedFields?.map((f) => f.manager)).toEqual(['sealbox-controller']);

    const again = await kubeErrorFrom(api.createSecret(body));
    expect(again.status).toBe(409);
    expect(again.message).toMatch(new RegExp(`^create secret ${ns.name}/plain: HTTP 409: .*already exists`));

    const replaced = await api.replaceSecret({ ...body, metadata: { ...body.metadata, resourceVersion: created.metadata?.resourceVersion ?? '' }, data: { k: Buffer.from('v2').toString('base64') } });
    expect(replaced.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    const stored = await kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace: ns.name, name: 'plain' });
    expect(Buffer.from(stored.data?.k ?? '', 'base64').toString()).toBe('v2');

    const stale = await kubeErrorFrom(api.replaceSecret({ ...body, metadata: { ...body.metadata, resourceVersion: created.metadata?.resourceVersion ?? '' } }));
    expect(stale.status).toBe(409);
    expect(sent).toEqual(['create secrets', 'create secrets', 'update secrets', 'update secrets']);
  });

  it('keeps 404 for the status of a sealed resource that does not exist', async () => {
    const api = new KubeApi(kubeConfig(), { qps: 100, burst: 100 });
    const err = await kubeErrorFrom(api.patchSealedStatus(ns.name, 'missing', { observedGeneration: 1 }));
    expect(err.status).toBe(404);
    expect(err.message).toMatch(new RegExp(`^update status of sealed secret ${ns.name}/missing: HTTP 404`));
  });

  it('reads a sealed resource through the same transport: undefined when it does not exist, a refusal for an unverified API server', async () => {
    const api = new KubeApi(kubeConfig(), { qps: 100, burst: 100 });
    expect(await api.getSealed(ns.name, 'missing')).toBeUndefined();
    const cluster = kubeConfig().getCurrentCluster();
    if (cluster === null) throw new Error('no current cluster');
    const kc = new k8s.KubeConfig();
    const ca = readFileSync(new URL('../vectors/keys/a.cert.pem', import.meta.url)).toString('base64');
    kc.loadFromClusterAndUser({ ...cluster, caData: ca, caFile: undefined }, { name: 'token-user', token: 'not-sent' });
    const err = await kubeErrorFrom(new KubeApi(kc, { qps: 100, burst: 100 }).getSealed(ns.name, 'missing'));
    expect(err.message).toMatch(new RegExp(`^get sealed secret ${ns.name}/missing: API server unreachable \\(.*certificate`));
  });

  it('records an Event with its timestamps as the API server reads them', async () => {
    const api = new KubeApi(kubeConfig(), { qps: 100, burst: 100 });
    const at = new Date('2026-01-02T03:04:05.678Z');
    await api.createEvent({
      metadata: { name: 'obj.1', namespace: ns.name },
      involvedObject: { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'obj', namespace: ns.name, uid: '00000000-0000-0000-0000-000000000001' },
      reason: 'Created', message: 'created secret obj', type: 'Normal', source: { component: 'sealbox-controller' },
      reportingComponent: 'sealbox.dev/controller', reportingInstance: 'test', firstTimestamp: at, lastTimestamp: at, count: 1,
    });
    const list = await kubeConfig().makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    const ev = list.items.find((e) => e.metadata.name === 'obj.1');
    expect(ev?.reason).toBe('Created');
    expect(ev?.firstTimestamp?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('applies the kubeconfig\'s credentials once per second for a burst of writes, not once per request', async () => {
    /** A real KubeConfig that counts how often its credentials are applied to a request. */
    class CountingKubeConfig extends k8s.KubeConfig {
      applied = 0;
      override async applyToHTTPSOptions(opts: Parameters<k8s.KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
        this.applied++;
        await super.applyToHTTPSOptions(opts);
      }
    }
    const kc = new CountingKubeConfig();
    kc.loadFromFile(kubeconfigPath());
    const api = new KubeApi(kc, { qps: 1000, burst: 1000 });
    const event = (i: number): k8s.CoreV1Event => ({
      metadata: { name: `burst.${String(i)}`, namespace: ns.name }, involvedObject: { kind: 'Secret', name: 'burst', namespace: ns.name },
      reason: 'Created', message: 'burst', type: 'Normal', source: { component: 'sealbox-controller' }, count: 1,
    });
    const started = performance.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => api.createEvent(event(i))));
    for (let i = 10; i < 30; i++) await api.createEvent(event(i));
    const elapsedMs = performance.now() - started;
    // Once, and once more for each second the burst took (a loaded machine may stretch it).
    expect(kc.applied).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / CREDENTIALS_TTL_MS));
    const list = await kubeConfig().makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    expect(list.items.filter((e) => e.metadata.name?.startsWith('burst.')).length).toBe(30);
  });

  it('picks up a changed token within a second of the change', async () => {
    await createServiceAccount(ns.name, 'no-rights');
    const kc = kubeConfigForToken(await serviceAccountToken(ns.name, 'no-rights'));
    const api = new KubeApi(kc, { qps: 100, burst: 100 });
    const event: k8s.CoreV1Event = { metadata: { name: 'token.1', namespace: ns.name }, involvedObject: { kind: 'Secret', name: 'x', namespace: ns.name }, reason: 'Created', message: 'x', type: 'Normal' };
    // an authenticated account without the right: 403
    expect((await kubeErrorFrom(api.createEvent(event))).status).toBe(403);
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('no current cluster');
    kc.loadFromClusterAndUser(cluster, { name: 'token-user', token: 'not-a-valid-token' });
    await new Promise((r) => setTimeout(r, CREDENTIALS_TTL_MS + 100));
    // the new (invalid) token is sent: 401
    expect((await kubeErrorFrom(api.createEvent(event))).status).toBe(401);
  });

  it('refuses an API server whose certificate the kubeconfig\'s CA did not sign, and sends nothing', async () => {
    const cluster = kubeConfig().getCurrentCluster();
    if (cluster === null) throw new Error('no current cluster');
    const kc = new k8s.KubeConfig();
    // A CA that did not sign the API server's certificate (a test vector's self-signed one).
    const ca = readFileSync(new URL('../vectors/keys/a.cert.pem', import.meta.url)).toString('base64');
    kc.loadFromClusterAndUser({ ...cluster, caData: ca, caFile: undefined }, { name: 'token-user', token: 'not-sent' });
    const api = new KubeApi(kc, { qps: 100, burst: 100 });
    const body: k8s.V1Secret = { metadata: { name: 'unverified', namespace: ns.name }, data: { k: Buffer.from('do-not-log-me').toString('base64') } };
    const err = await kubeErrorFrom(api.createSecret(body));
    expect(err.status).toBe(0);
    expect(err.message).toMatch(new RegExp(`^create secret ${ns.name}/unverified: API server unreachable \\(.*certificate`));
    expect(err.message).not.toContain(body.data?.k);
    const stored = await kubeConfig().makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: ns.name });
    expect(stored.items.map((s) => s.metadata?.name)).not.toContain('unverified');
  });
});
