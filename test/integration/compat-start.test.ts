/**
 * With `--sealed-secrets-compat`, Sealed Secrets' SealedSecrets must not hold
 * up sealbox's own resources nor the controller's readiness at start-up
 * (issue 16; docs/SECURITY.md 1a.8). The compatibility mode's initial list
 * waits on its reconciles (its ColdStart holds at most 8 MiB of listed specs
 * before the list waits), and the controller used to start sealbox's own
 * informers, and answer /readyz, only once that list was done.
 *
 * Here one tenant's 12 bitnami SealedSecrets are ~1 MB each (a value no
 * key opens) and their reconciles are slow: the status each one writes
 * waits on a validating admission webhook that holds it
 * (test/controller/admission-hold.ts; up to the API server's 30 s webhook
 * timeout). With 2 workers a namespace gets 1 (WorkQueue): one is in its
 * reconcile, 9 MB are held and the list waits; the old code started
 * sealbox's informers only after two 30 s rounds. Meanwhile a sealbox
 * SealedSecret in another namespace must get its Secret, and /readyz must
 * answer 200.
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import type { AdmissionHold } from '../controller/admission-hold.js';
import { probeAdmissionHold, startAdmissionHold } from '../controller/admission-hold.js';
import { BITNAMI, compatRbac } from '../controller/compat.js';
import { useController, waitForLeader } from '../controller/harness.js';
import { controllerRbac } from '../controller/rbac.js';
import { createSealed, fetchCert, seal, secretText, waitForSecret } from '../controller/sealed.js';

/** SealedSecrets of ~1 MB: 1 in its reconcile and 9 held (> 8 MiB, so the list waits), and 2 more still to list. */
const BULKY = 12;
/** Sealed Secrets' SealedSecrets whose status write the webhook holds. */
const HELD_PREFIX = 'bulky-';
const COMPAT_SYNCED = 'sealed secrets compatibility: informers synced; reconciling';

const env = useController({
  prefix: 'compat-start',
  replicas: 0,
  watchedNamespaces: 2,
  resyncPeriod: '10m',
  extraArgs: ['--sealed-secrets-compat', '--workers', '2'],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});

let hold: AdmissionHold | undefined;
afterAll(async () => { await hold?.close(); });

const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);

/** A bitnami SealedSecret of `name` whose one value (`bytes` of ciphertext, base64) no key opens. */
function bitnami(namespace: string, name: string, bytes: number): object {
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace }, spec: { encryptedData: { blob: randomBytes(bytes).toString('base64') }, template: { metadata: { name, namespace } } } };
}

/** The Synced condition's status of bitnami SealedSecret `namespace/name`, if it has one. */
async function synced(namespace: string, name: string): Promise<string | undefined> {
  const o = await custom().getNamespacedCustomObject({ ...BITNAMI, namespace, name }) as { status?: { conditions?: { type: string; status: string }[] } };
  return o.status?.conditions?.find((c) => c.type === 'Synced')?.status;
}

/** Holds the status writes of the tenant's bulky SealedSecrets, and checks that the API server calls the webhook. */
async function holdStatusWrites(tenant: string): Promise<AdmissionHold> {
  const h = await startAdmissionHold({ apiGroup: 'bitnami.com', apiVersion: 'v1alpha1', resource: 'sealedsecrets/status', namespace: tenant, hold: (n) => n.startsWith(HELD_PREFIX) });
  await custom().createNamespacedCustomObject({ ...BITNAMI, namespace: tenant, body: bitnami(tenant, 'probe', 16) });
  await probeAdmissionHold(h, 'probe', async () => {
    const o = await custom().getNamespacedCustomObject({ ...BITNAMI, namespace: tenant, name: 'probe' }) as Record<string, unknown>;
    await custom().replaceNamespacedCustomObjectStatus({ ...BITNAMI, namespace: tenant, name: 'probe', body: { ...o, status: { observedGeneration: 1 } } });
  });
  await custom().deleteNamespacedCustomObject({ ...BITNAMI, namespace: tenant, name: 'probe' });
  return h;
}

describe('sealbox controller --sealed-secrets-compat at start-up', () => {
  it('syncs sealbox\'s own SealedSecrets and answers /readyz 200 while the compatibility mode is still listing', async () => {
    const [tenant = '', other = ''] = env.namespaces;
    hold = await holdStatusWrites(tenant);
    for (let i = 0; i < BULKY; i++) await custom().createNamespacedCustomObject({ ...BITNAMI, namespace: tenant, body: bitnami(tenant, `${HELD_PREFIX}${String(i)}`, 750_000) });

    const ctl = await env.startReplica('controller-0');
    // the first key is generated once it leads: /v1/cert.pem answers 503 until then
    const cert = await eventually('the controller\'s certificate', () => fetchCert(ctl.url).catch(() => undefined), 30_000);
    const sealed = await seal(cert, { name: 'app', namespace: other, data: { password: 'hunter2' } });
    await createSealed(other, sealed);
    // the old code started sealbox's informers after two 30 s rounds of the webhook
    const secret = await waitForSecret(other, 'app', () => true, 25_000);
    expect(secretText(secret)).toEqual({ password: 'hunter2' });
    expect((await fetch(`${ctl.url}/readyz`)).status).toBe(200);
    await waitForLeader([ctl], 1000);
    // the compatibility mode is still stuck: its reconciles wait on the webhook, its list on them
    expect(ctl.log()).not.toContain(COMPAT_SYNCED);
    await eventually('a compat status write held by the webhook', () => Promise.resolve(hold?.held[0]), 20_000);
    expect(ctl.log()).not.toContain(COMPAT_SYNCED);

    hold.release();
    await eventually('the compatibility mode\'s informers synced', () => Promise.resolve(ctl.log().includes(COMPAT_SYNCED) ? true : undefined), 30_000);
    const last = `${HELD_PREFIX}${String(BULKY - 1)}`;
    await eventually(`${last} Synced=False (no key opens it)`, async () => ((await synced(tenant, last)) === 'False' ? true : undefined), 60_000, 250);
  });
});
