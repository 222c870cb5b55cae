/**
 * How `sealbox controller --sealed-secrets-compat` treats the Secret of a
 * Sealed Secrets SealedSecret around other writers and immutable Secrets,
 * on the real control plane, as Sealed Secrets' own suite expects (issue 16
 * §3: "Secret Recreation With unowned secret ... should not recreate the
 * secret", "Immutable Secret Error should record update failure as an
 * event"). Values are sealed in Sealed Secrets' format for the controller's
 * own certificate.
 */
import { createPublicKey } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { bitnamiLabel, sealBitnamiValue } from '../../src/crypto/bitnami.js';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import { BITNAMI, compatRbac } from '../controller/compat.js';
import { useController } from '../controller/harness.js';
import { controllerRbac } from '../controller/rbac.js';
import { eventsFor, fetchCert, readSecret, waitForSecret } from '../controller/sealed.js';


const env = useController({
  prefix: 'compat-rec',
  // no resync during a test: one would (rightly) create the Secrets the tests check stay absent
  resyncPeriod: '10m',
  extraArgs: ['--sealed-secrets-compat'],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});

const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);

/** A strict-scope Sealed Secrets SealedSecret of `values` for the controller's newest certificate. */
async function bitnamiSealed(namespace: string, name: string, values: Record<string, string>, immutable?: boolean): Promise<Record<string, unknown>> {
  const key = createPublicKey(await fetchCert(env.controllers[0]?.url ?? ''));
  const label = bitnamiLabel('strict', namespace, name);
  const encryptedData = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(sealBitnamiValue(key, Buffer.from(v), label)).toString('base64')]));
  const template = { metadata: { name, namespace }, ...(immutable === undefined ? {} : { immutable }) };
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace }, spec: { encryptedData, template } };
}

async function createBitnami(namespace: string, body: Record<string, unknown>): Promise<void> {
  await custom().createNamespacedCustomObject({ ...BITNAMI, namespace, body });
}

interface BitnamiObject { metadata: { generation: number; resourceVersion: string; labels?: Record<string, string> }; spec: unknown; status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] } }

async function getBitnami(namespace: string, name: string): Promise<BitnamiObject> {
  return await custom().getNamespacedCustomObject({ ...BITNAMI, namespace, name }) as BitnamiObject;
}

async function waitForSynced(namespace: string, name: string, status: 'True' | 'False'): Promise<BitnamiObject> {
  return eventually(`sealedsecret ${namespace}/${name} Synced=${status}`, async () => {
    const o = await getBitnami(namespace, name);
    const c = o.status?.conditions?.find((x) => x.type === 'Synced');
    return c?.status === status && o.status?.observedGeneration === o.metadata.generation ? o : undefined;
  }, 30_000);
}

/** A Secret of another writer (no owner reference). */
async function createForeignSecret(namespace: string, name: string, annotations: Record<string, string> = {}): Promise<void> {
  await core().createNamespacedSecret({ namespace, body: { metadata: { name, namespace, annotations }, data: { theirs: Buffer.from('x').toString('base64') } } });
}

/** Fails when the Secret shows up within `ms` (checked every 50 ms). */
async function expectAbsentFor(namespace: string, name: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const s = await readSecret(namespace, name);
    expect(s, `secret ${namespace}/${name} was created within ${String(ms)} ms`).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const decoded = (s: k8s.V1Secret): Record<string, string> => Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

describe('sealbox controller --sealed-secrets-compat and Secrets of other writers', () => {
  it('leaves the name of a Secret another writer deleted a moment ago to that writer, then creates its own', async () => {
    const ns = env.namespace;
    const sealed = await bitnamiSealed(ns, 'replaced', { password: 'hunter2' });
    await createForeignSecret(ns, 'replaced');
    await core().deleteNamespacedSecret({ namespace: ns, name: 'replaced' });
    await createBitnami(ns, sealed);
    await expectAbsentFor(ns, 'replaced', 1000);
    const secret = await waitForSecret(ns, 'replaced', () => true, 20_000);
    expect(decoded(secret)).toEqual({ password: 'hunter2' });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'SealedSecret', name: 'replaced', controller: true });
  });

  it('does not re-create a patched Secret its writer deleted when only the SealedSecret\'s labels change', async () => {
    const ns = env.namespace;
    await createForeignSecret(ns, 'patched', { 'sealedsecrets.bitnami.com/patch': 'true' });
    await createBitnami(ns, await bitnamiSealed(ns, 'patched', { password: 'hunter2' }));
    await waitForSecret(ns, 'patched', (s) => s.data?.password !== undefined);
    await waitForSynced(ns, 'patched', 'True');
    await core().deleteNamespacedSecret({ namespace: ns, name: 'patched' });
    // a metadata-only edit (kubectl label): Sealed Secrets suppresses updates with no change in spec
    const o = await getBitnami(ns, 'patched');
    await custom().replaceNamespacedCustomObject({ ...BITNAMI, namespace: ns, name: 'patched', body: { ...o, metadata: { ...o.metadata, labels: { team: 'db' } } } });
    await expectAbsentFor(ns, 'patched', 3000);
  });
});

describe('sealbox controller --sealed-secrets-compat and immutable Secrets', () => {
  it('records ErrUpdateFailed "the target Secret is immutable" and a Synced=False status, keeps the Secret, and does not retry', async () => {
    const ns = env.namespace;
    await createBitnami(ns, await bitnamiSealed(ns, 'frozen', { password: 'hunter2' }, true));
    const first = await waitForSecret(ns, 'frozen');
    expect(first.immutable).toBe(true);
    await waitForSynced(ns, 'frozen', 'True');
    const o = await getBitnami(ns, 'frozen');
    const next = await bitnamiSealed(ns, 'frozen', { password: 'changed' }, true);
    await custom().replaceNamespacedCustomObject({ ...BITNAMI, namespace: ns, name: 'frozen', body: { ...o, spec: next.spec } });
    const failed = await waitForSynced(ns, 'frozen', 'False');
    expect(failed.status?.conditions?.find((c) => c.type === 'Synced')?.message).toContain('the target Secret is immutable');
    const event = await eventually('an ErrUpdateFailed event', async () => (await eventsFor(ns, 'frozen')).find((e) => e.reason === 'ErrUpdateFailed'), 15_000);
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`secret "${ns}/frozen"`);
    expect(event.message).toContain('the target Secret is immutable');
    expect(event.message).not.toContain('changed');
    // no retry: a retry would log the failure again after its backoff (1 s, then 2 s)
    await new Promise((r) => setTimeout(r, 4000));
    const failures = (env.controllers[0]?.logRecords() ?? []).filter((r) => r.name === 'frozen' && r.msg === 'sealedsecret (bitnami) reconcile failed');
    expect(failures).toHaveLength(1);
    expect(decoded(await readSecret(ns, 'frozen') ?? {})).toEqual({ password: 'hunter2' });
  });
});
