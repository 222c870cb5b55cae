// What a sealed resource may make the controller write, on the real control
// plane (issue 11, items 4c, 4d, 6e): a template is plaintext that whoever
// creates the sealed resource chooses, so the controller refuses templates
// that would hand out a service-account token or plant a sealing key; the
// key manager refuses keys a sealed resource wrote and creation dates later
// than the key Secret itself; a `__proto__` key is refused instead of being
// silently dropped; a sealed resource being deleted is left alone.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { eventually, kubeConfig, kubeObject } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import type { SealedObject } from '../controller/sealed.js';
import { SEALED, createSealed, fetchCert, getSealed, readSecret, readyCondition, seal, waitForReady, waitForSecret } from '../controller/sealed.js';

// the controller watches its own namespace too: that is where a planted key would land
const env = useController({ prefix: 'sec-tmpl', watchControllerNamespace: true, resyncPeriod: '3s' });
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);
const url = (): string => env.controllers[0]?.url ?? '';

interface KeyInfo { fingerprint: string; secret: string; createdAt: string; newest: boolean }
async function keys(): Promise<KeyInfo[]> {
  return (await (await fetch(`${url()}/v1/keys`)).json()) as KeyInfo[];
}

/** Seals `data` as an Opaque Secret, then sets the plaintext template as a Git writer could. */
async function withTemplate(name: string, namespace: string, data: Record<string, string>, template: unknown): Promise<SealedObject> {
  const m = await seal(await fetchCert(url()), { name, namespace, data });
  return { ...m, spec: { ...m.spec, template } };
}

/** Resolves once the sealed resource reports Ready=False, and checks that no Secret was written. */
async function refused(namespace: string, name: string): Promise<{ reason: string; message: string }> {
  const o = await waitForReady(namespace, name, 'False', 20_000);
  expect(await readSecret(namespace, name)).toBeUndefined();
  const c = readyCondition(o);
  if (c === undefined) throw new Error('no Ready condition');
  return c;
}

describe('templates the controller refuses', () => {
  it('refuses a service-account-token template with a status that says why, and writes no Secret', async () => {
    const ns = env.namespace;
    await createSealed(ns, await withTemplate('token-grab', ns, { note: 'x' }, {
      type: 'kubernetes.io/service-account-token',
      metadata: { annotations: { 'kubernetes.io/service-account.name': 'default' } },
    }));
    const c = await refused(ns, 'token-grab');
    expect(c.reason).toBe('InvalidSealedSecret');
    expect(c.message).toContain('spec.template.type "kubernetes.io/service-account-token" is refused');
  });

  it('refuses a template that plants a sealing key in its namespace, and keeps publishing its own certificate', async () => {
    const ctrl = env.controllerNamespace;
    const before = await fetchCert(url());
    const attacker = await generateSealingKey({ bits: 2048, commonName: 'attacker' });
    await createSealed(ctrl, await withTemplate('planted-key', ctrl, { 'tls.crt': attacker.certificatePem, 'tls.key': attacker.privateKeyPem }, {
      type: 'kubernetes.io/tls',
      metadata: { labels: { 'sealbox.dev/sealing-key': 'true' }, annotations: { 'sealbox.dev/created-at': '2999-01-01T00:00:00Z' } },
    }));
    const c = await refused(ctrl, 'planted-key');
    expect(c.reason).toBe('InvalidSealedSecret');
    expect(c.message).toContain('"sealbox.dev/sealing-key" uses the prefix sealbox.dev/');
    expect((await keys()).map((k) => k.fingerprint)).not.toContain(attacker.fingerprint);
    expect(await fetchCert(url())).toBe(before);
  });

  it('refuses the data key "__proto__" instead of reporting a Secret it cannot write as in sync', async () => {
    const ns = env.namespace;
    const m = await seal(await fetchCert(url()), { name: 'proto', namespace: ns, data: JSON.parse('{"__proto__": "dropped-by-the-client", "kept": "v"}') as Record<string, string> });
    await createSealed(ns, m);
    const c = await refused(ns, 'proto');
    expect(c).toMatchObject({ reason: 'InvalidSealedSecret', message: expect.stringContaining('value "__proto__" has an invalid key name') as unknown });
  });
});

describe('the key manager', () => {
  it('ignores a key Secret owned by a sealed resource, and a created-at later than the key Secret itself', async () => {
    const ctrl = env.controllerNamespace;
    const before = await keys();
    const cert = await fetchCert(url());
    const decoy = await createSealed(ctrl, await seal(cert, { name: 'decoy', namespace: ctrl, data: { v: 'x' } }));
    await waitForReady(ctrl, 'decoy', 'True');
    const tls = async (cn: string): Promise<Record<string, string>> => {
      const k = await generateSealingKey({ bits: 2048, commonName: cn });
      return { 'tls.crt': Buffer.from(k.certificatePem).toString('base64'), 'tls.key': Buffer.from(k.privateKeyPem).toString('base64'), fp: k.fingerprint };
    };
    const owned = await tls('owned');
    const dated = await tls('dated');
    const keySecret = (name: string, d: Record<string, string>, meta: Partial<k8s.V1ObjectMeta> = {}): k8s.V1Secret => kubeObject<k8s.V1Secret>({
      metadata: { name, labels: { 'sealbox.dev/sealing-key': 'true' }, annotations: { 'sealbox.dev/created-at': '2999-01-01T00:00:00Z' }, ...meta },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': d['tls.crt'] ?? '', 'tls.key': d['tls.key'] ?? '' },
    });
    // as a sealed resource's Secret would be: controlled by a SealedSecret
    await core().createNamespacedSecret({ namespace: ctrl, body: keySecret('owned-key', owned, {
      ownerReferences: [{ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'decoy', uid: decoy.metadata.uid ?? '', controller: true }],
    }) });
    // added by hand, but dated in the future
    const created = await core().createNamespacedSecret({ namespace: ctrl, body: keySecret('dated-key', dated) });
    try {
      const after = await eventually('the hand-added key to be loaded', async () => {
        const list = await keys();
        return list.some((k) => k.fingerprint === dated.fp) ? list : undefined;
      }, 20_000);
      expect(after.map((k) => k.fingerprint)).not.toContain(owned.fp);
      const d = after.find((k) => k.fingerprint === dated.fp);
      expect(d?.createdAt).toBe(created.metadata?.creationTimestamp?.toISOString());
      expect(after.length).toBe(before.length + 1);
    } finally {
      // the hand-added key is the newest now: take it away again for the other tests
      await core().deleteNamespacedSecret({ namespace: ctrl, name: 'dated-key' });
      await core().deleteNamespacedSecret({ namespace: ctrl, name: 'owned-key' });
      await eventually('the original newest key to be back', async () => ((await fetchCert(url())) === cert ? true : undefined), 20_000);
    }
  });
});

describe('a sealed resource being deleted', () => {
  it('is left alone: its Secret, deleted by garbage collection (--cascade=foreground), is not written again', async () => {
    const ns = env.namespace;
    const m = await seal(await fetchCert(url()), { name: 'leaving', namespace: ns, data: { v: 'x' } });
    // a finalizer of our own keeps the object in its "being deleted" state for as long as the test needs
    await createSealed(ns, { ...m, metadata: { ...m.metadata, finalizers: ['example.com/hold'] } });
    await waitForSecret(ns, 'leaving');
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    await custom.deleteNamespacedCustomObject({ ...SEALED, namespace: ns, name: 'leaving', propagationPolicy: 'Foreground' });
    try {
      expect((await getSealed(ns, 'leaving')).metadata.deletionTimestamp).toBeDefined();
      // kube-controller-manager's garbage collector is slow on a loaded 2-core machine (20 s was not always enough)
      await eventually('garbage collection to delete the Secret', async () => ((await readSecret(ns, 'leaving')) === undefined ? true : undefined), 60_000, 50);
      // a resync (every 3 s) and the Secret's delete event have both come and gone
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        expect(await readSecret(ns, 'leaving'), 'the Secret was written again').toBeUndefined();
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await custom.patchNamespacedCustomObject({ ...SEALED, namespace: ns, name: 'leaving', body: [{ op: 'remove', path: '/metadata/finalizers' }] },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch));
    }
  });
});
