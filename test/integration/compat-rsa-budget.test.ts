/**
 * `sealbox controller --sealed-secrets-compat
 * --compat-rsa-per-namespace-per-minute` on the real control plane
 * (docs/SECURITY.md 1a.8): a namespace whose SealedSecrets need more RSA
 * operations than its budget has its unseal deferred, saying so in the
 * status and a Warning event, while another namespace's SealedSecret is
 * unsealed at once. The unit tests (test/unit/controller/compat/
 * rsa-budget.test.ts) cover the refill on a fake clock; this one checks the
 * flag reaches the reconciler and what a user sees.
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
  prefix: 'compat-budget',
  watchedNamespaces: 2,
  resyncPeriod: '10m',
  extraArgs: ['--sealed-secrets-compat', '--compat-rsa-per-namespace-per-minute=10'],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});

const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);

/** Creates a strict-scope Sealed Secrets SealedSecret of `count` values sealed for the controller's certificate. */
async function createBitnami(namespace: string, name: string, count: number): Promise<void> {
  const key = createPublicKey(await fetchCert(env.controllers[0]?.url ?? ''));
  const label = bitnamiLabel('strict', namespace, name);
  const encryptedData = Object.fromEntries(Array.from({ length: count }, (_, i) => [`v${String(i)}`, Buffer.from(sealBitnamiValue(key, Buffer.from(`secret-${String(i)}`), label)).toString('base64')]));
  const body = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace }, spec: { encryptedData, template: { metadata: { name, namespace } } } };
  await custom().createNamespacedCustomObject({ ...BITNAMI, namespace, body });
}

interface Synced { status: string; message?: string }

async function synced(namespace: string, name: string): Promise<Synced | undefined> {
  const o = await custom().getNamespacedCustomObject({ ...BITNAMI, namespace, name }) as { status?: { conditions?: (Synced & { type: string })[] } };
  return o.status?.conditions?.find((c) => c.type === 'Synced');
}

describe('sealbox controller --compat-rsa-per-namespace-per-minute', () => {
  it('defers a namespace over its budget with a status and an event, and unseals another namespace meanwhile', async () => {
    const [busy = '', quiet = ''] = env.namespaces;
    await createBitnami(busy, 'many', 15);
    const condition = await eventually('Synced False on the SealedSecret over budget', async () => {
      const c = await synced(busy, 'many');
      return c?.status === 'False' ? c : undefined;
    }, 30_000);
    expect(condition.message).toContain(`namespace "${busy}" is over its unseal budget of 10 RSA operations a minute`);
    expect(await readSecret(busy, 'many')).toBeUndefined(); // retried only after a minute
    const event = await eventually('an UnsealDeferred event', async () => (await eventsFor(busy, 'many')).find((e) => e.reason === 'UnsealDeferred'), 15_000);
    expect(event.type).toBe('Warning');
    expect(JSON.stringify([condition, event.message])).not.toContain('secret-');

    await createBitnami(quiet, 'few', 3);
    const secret = await waitForSecret(quiet, 'few', () => true, 20_000);
    expect(Buffer.from(secret.data?.v2 ?? '', 'base64').toString()).toBe('secret-2');
  });
});
