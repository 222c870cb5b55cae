// The controller, run as a process with deploy/'s service-account token,
// keeps a Secret in line with its sealed resource on the real control plane:
// create, update, re-create, revert drift, garbage collection, take-over.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, kubeConfig, kubeObject } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import type { Manifest } from '../controller/manifests.js';
import { applyObject, rawRequest, readManifests } from '../controller/manifests.js';
import {
  createSealed, deleteSealed, eventsFor, fetchCert, readSecret, seal, secretText, updateSealedSpec, waitForReady, waitForSecret,
} from '../controller/sealed.js';

// a short resync so a refused Secret that is annotated later is retried soon
const env = useController({ prefix: 'ctl-sync', resyncPeriod: '3s' });
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);

describe('manifests and identity', () => {
  it('accepts every document in crds/ and deploy/ in a server-side dry-run apply', async () => {
    const docs = [...readManifests('crds'), ...readManifests('deploy')];
    const kinds = new Set(docs.map((d) => d.object.kind));
    for (const k of ['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service']) {
      expect(kinds, `deploy/ or crds/ lacks a ${k}`).toContain(k);
    }
    const failures: string[] = [];
    for (const d of docs) {
      // namespaced objects go to an existing namespace: a dry-run Namespace
      // is not stored, so its namespace would not exist for the others
      const obj: Manifest = d.object.metadata.namespace === undefined ? d.object : { ...d.object, metadata: { ...d.object.metadata, namespace: env.controllerNamespace } };
      const res = await applyObject(kubeConfig(), obj, { dryRun: true });
      if (res.status !== 200 && res.status !== 201) failures.push(`${d.file}#${d.index} ${obj.kind}/${obj.metadata.name}: HTTP ${res.status} ${JSON.stringify((res.body as { message?: string }).message ?? res.body).slice(0, 400)}`);
    }
    expect(failures).toEqual([]);
  });

  it('runs the controller with the service-account token deploy/ grants, not the admin certificate', async () => {
    const text = readFileSync(env.tokenKubeconfig, 'utf8');
    expect(text).not.toMatch(/client-certificate|client-key/);
    const kc = new k8s.KubeConfig();
    kc.loadFromString(text);
    const review = await rawRequest(kc, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
    const sa = env.rbac.find((o) => o.kind === 'ServiceAccount')?.metadata.name ?? '';
    expect((review.body as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(`system:serviceaccount:${env.controllerNamespace}:${sa}`);
    // the same token is refused what deploy/ does not grant, e.g. writing a sealed resource's spec
    const res = await rawRequest(kc, 'POST', `/apis/sealbox.dev/v1/namespaces/${env.namespace}/sealedsecrets`, JSON.stringify({ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', metadata: { name: 'x' }, spec: {} }));
    expect(res.status).toBe(403);
    // and the controller did its start-up work with it: key Secret, public ConfigMap, Lease
    const cm = await core().readNamespacedConfigMap({ namespace: env.controllerNamespace, name: 'sealbox-certs' });
    expect(cm.data?.['cert.pem']).toBe(await fetchCert(env.controllers[0]?.url ?? ''));
  });
});

describe('a sealed resource and its Secret', () => {
  it('creates the Secret with the right data, type, labels and ownerReference within 2 s, then follows updates, deletion, drift and garbage collection', async () => {
    const ns = env.namespace;
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    const manifest = await seal(cert, { name: 'db', namespace: ns, type: 'kubernetes.io/basic-auth', labels: { app: 'db' }, annotations: { team: 'data' }, data: { username: 'admin', password: 'correct horse' } });
    const started = Date.now();
    const created = await createSealed(ns, manifest);
    const secret = await waitForSecret(ns, 'db', () => true, 2000, 25);
    expect(Date.now() - started).toBeLessThanOrEqual(2000);
    expect(secretText(secret)).toEqual({ username: 'admin', password: 'correct horse' });
    expect(secret.type).toBe('kubernetes.io/basic-auth');
    expect(secret.metadata?.labels).toMatchObject({ app: 'db' });
    expect(secret.metadata?.annotations).toMatchObject({ team: 'data' });
    expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', uid: created.metadata.uid, controller: true })]);
    const ready = await waitForReady(ns, 'db', 'True');
    // --events defaults to all: a Normal Created Event, recorded before the status
    expect((await eventsFor(ns, 'db')).map((e) => `${e.type ?? ''} ${e.reason ?? ''}`)).toContain('Normal Created');
    expect(ready.status?.keyIds).toEqual([`cert:${ready.spec.dataKeys[0]?.recipients[0]?.id.slice(0, 12) ?? ''}`]);

    // an update of the sealed resource updates the Secret
    const next = await seal(cert, { name: 'db', namespace: ns, type: 'kubernetes.io/basic-auth', labels: { app: 'db', tier: 'backend' }, data: { username: 'admin', password: 'battery staple' } });
    await updateSealedSpec(ns, 'db', next.spec);
    const updated = await waitForSecret(ns, 'db', (s) => secretText(s).password === 'battery staple', 10_000);
    expect(updated.metadata?.labels).toMatchObject({ app: 'db', tier: 'backend' });
    expect(updated.metadata?.uid).toBe(secret.metadata?.uid);

    // a deleted Secret comes back
    await core().deleteNamespacedSecret({ namespace: ns, name: 'db' });
    const recreated = await waitForSecret(ns, 'db', (s) => s.metadata?.uid !== secret.metadata?.uid, 10_000);
    expect(secretText(recreated)).toEqual({ username: 'admin', password: 'battery staple' });

    // a hand edit of the data is reverted, an added key removed
    await core().replaceNamespacedSecret({ namespace: ns, name: 'db', body: { ...recreated, data: { ...recreated.data, password: Buffer.from('hacked').toString('base64'), extra: Buffer.from('x').toString('base64') } } });
    const reverted = await waitForSecret(ns, 'db', (s) => secretText(s).password === 'battery staple', 10_000);
    expect(secretText(reverted)).toEqual({ username: 'admin', password: 'battery staple' });

    // deleting the sealed resource deletes the Secret (kube-controller-manager's garbage collector)
    await deleteSealed(ns, 'db');
    await eventually('the garbage collector to delete secret db', async () => ((await readSecret(ns, 'db')) === undefined ? true : undefined), 60_000, 500);
  }, 120_000);

  it('leaves a Secret it does not own untouched and reports SecretNotOwned, then adopts it once annotated for take-over', async () => {
    const ns = env.namespace;
    const mine = await core().createNamespacedSecret({ namespace: ns, body: kubeObject<k8s.V1Secret>({ metadata: { name: 'legacy', labels: { owner: 'someone' } }, stringData: { token: 'hand-made' } }) });
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    const created = await createSealed(ns, await seal(cert, { name: 'legacy', namespace: ns, data: { token: 'from-git' } }));
    const refused = await waitForReady(ns, 'legacy', 'False');
    expect(refused.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'SecretNotOwned', message: expect.stringContaining('sealbox.dev/take-over') as unknown });
    // a person must act (annotate or remove the Secret): Stalled, not Reconciling
    expect(refused.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([['Ready', 'False', 'SecretNotOwned'], ['Stalled', 'True', 'SecretNotOwned']]);
    const warnings = await eventually('a SecretNotOwned warning event', async () => {
      const ev = (await eventsFor(ns, 'legacy')).filter((e) => e.type === 'Warning' && e.reason === 'SecretNotOwned');
      return ev.length > 0 ? ev : undefined;
    }, 10_000);
    expect(warnings[0]?.involvedObject.uid).toBe(created.metadata.uid);
    // a few resync periods later the Secret is still exactly as it was
    await new Promise((r) => setTimeout(r, 7000));
    const untouched = await readSecret(ns, 'legacy');
    expect(untouched?.metadata?.resourceVersion).toBe(mine.metadata?.resourceVersion);

    await core().patchNamespacedSecret({ namespace: ns, name: 'legacy', body: { metadata: { annotations: { 'sealbox.dev/take-over': 'true' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const adopted = await waitForSecret(ns, 'legacy', (s) => (s.metadata?.ownerReferences ?? []).some((r) => r.uid === created.metadata.uid && r.controller === true), 30_000, 200);
    expect(secretText(adopted)).toEqual({ token: 'from-git' });
    expect(adopted.metadata?.uid).toBe(mine.metadata?.uid);
    const ready = await waitForReady(ns, 'legacy', 'True');
    expect(ready.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  }, 90_000);
});
