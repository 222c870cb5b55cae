/**
 * `sealbox keys import --from-sealed-secrets` reading Sealed Secrets' keys
 * from a live cluster (issue 16 §1): the Secrets labelled
 * `sealedsecrets.bitnami.com/sealed-secrets-key` in the Sealed Secrets
 * namespace, on the real control plane, picked up by a running controller.
 * Imported keys keep their creation time, never become the sealing key
 * unless the import asks (--seal-with), and show in `sealbox cert fetch
 * --all`. (The backup-file path: test/integration/compat-kubeseal.test.ts.)
 */
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createNamespace, eventually, kubeConfig, kubeconfigPath } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { createSealed, fetchCert, seal, secretText, waitForSecret } from '../controller/sealed.js';
import { sealbox } from '../helpers/cli.js';
import type { VectorKey } from '../helpers/keys.js';
import { vectorKey } from '../helpers/keys.js';

const env = useController({ prefix: 'keys-import' });
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);

/** The base64 body of a PEM certificate, enough to find it in a bundle. */
const certBody = (k: VectorKey): string => k.certPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
const bundleBodies = (pem: string): string => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');

/** A Sealed Secrets key Secret as its controller writes it, in a namespace of its own; returns its creationTimestamp. */
async function sealedSecretsKey(namespace: string, key: VectorKey): Promise<Date> {
  const s = await core().createNamespacedSecret({ namespace, body: {
    metadata: { generateName: 'sealed-secrets-key', namespace, labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(key.certPem).toString('base64'), 'tls.key': Buffer.from(key.keyPem).toString('base64') },
  } });
  const t = s.metadata?.creationTimestamp;
  if (t === undefined) throw new Error('the API server set no creationTimestamp');
  return new Date(t);
}

function importFrom(namespace: string, ...extra: string[]): { status: number | null; stderr: string } {
  return sealbox(['keys', 'import', '--from-sealed-secrets', '--sealed-secrets-namespace', namespace, '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, ...extra]);
}

async function importedKeySecrets(): Promise<k8s.V1Secret[]> {
  const list = await core().listNamespacedSecret({ namespace: env.controllerNamespace, labelSelector: 'sealbox.dev/sealing-key' });
  return list.items.filter((s) => s.metadata?.annotations?.['sealbox.dev/imported-from'] !== undefined);
}

function certFetchAll(): string {
  const r = sealbox(['cert', 'fetch', '--all', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]);
  expect(r.status, r.stderr).toBe(0);
  return bundleBodies(r.stdout);
}

describe('sealbox keys import --from-sealed-secrets from a live cluster', () => {
  it('imports the labelled keys with their creation time; they unseal, show in cert fetch --all, and do not seal', async () => {
    const url = env.controllers[0]?.url ?? '';
    const own = await fetchCert(url);
    const ssNamespace = await createNamespace('sealed-secrets');
    // created after the controller's own key: newer, yet it must not become the sealing key
    const created = await sealedSecretsKey(ssNamespace, vectorKey('a'));
    await core().createNamespacedSecret({ namespace: ssNamespace, body: { metadata: { name: 'unrelated', namespace: ssNamespace }, data: { x: 'eA==' } } });
    const r = importFrom(ssNamespace);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('imported 1 Sealed Secrets key(s)');
    expect(r.stderr).toContain('they unseal only');
    const [imported, ...more] = await importedKeySecrets();
    expect(more).toHaveLength(0);
    const annotations = imported?.metadata?.annotations ?? {};
    expect(new Date(annotations['sealbox.dev/created-at'] ?? '').getTime()).toBe(created.getTime());
    expect(annotations['sealbox.dev/imported-from']).toMatch(new RegExp(`^sealed-secrets/${ssNamespace}/sealed-secrets-key`));
    expect(annotations['sealbox.dev/seal-with-since']).toBeUndefined();
    await eventually('the imported certificate in cert fetch --all', () => Promise.resolve(certFetchAll().includes(certBody(vectorKey('a'))) ? true : undefined), 30_000);
    expect(certFetchAll()).toContain(bundleBodies(own));
    expect(bundleBodies(await fetchCert(url))).toBe(bundleBodies(own));
    // the controller unseals with it: a resource sealed for the imported key only
    await createSealed(env.namespace, await seal(vectorKey('a').certPem, { name: 'for-imported', namespace: env.namespace, data: { password: 'hunter2' } }));
    expect(secretText(await waitForSecret(env.namespace, 'for-imported'))).toEqual({ password: 'hunter2' });
    // a second import finds it there and changes nothing
    const again = importFrom(ssNamespace);
    expect(again.stderr).toContain('imported 0 Sealed Secrets key(s)');
    expect(await importedKeySecrets()).toHaveLength(1);
  });

  it('with --seal-with, new seals use the newest imported key', async () => {
    const url = env.controllers[0]?.url ?? '';
    const ssNamespace = await createNamespace('sealed-secrets');
    await sealedSecretsKey(ssNamespace, vectorKey('b'));
    const r = importFrom(ssNamespace, '--seal-with');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('new seals use');
    await eventually('the controller to seal with the imported key', async () => (bundleBodies(await fetchCert(url)) === certBody(vectorKey('b')) ? true : undefined), 30_000);
    // cert fetch --all may answer from a replica that has not yet loaded the key /v1/cert.pem above already serves
    const all = await eventually('both imported certificates in cert fetch --all', () => {
      const bundle = certFetchAll();
      return Promise.resolve(bundle.includes(certBody(vectorKey('b'))) ? bundle : undefined);
    }, 30_000);
    expect(all).toContain(certBody(vectorKey('a')));
  });
});
