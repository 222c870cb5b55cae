/**
 * docs/MIGRATION.md's rollback steps, run as written (same commands, flags
 * and order) on the real control plane, against Sealed Secrets' own
 * controller v0.36.6 (test/controller/sealed-secrets-controller.ts):
 *
 * - "Rolling back a converted file": a Secret taken over by a converted
 *   sealbox resource goes back to the re-applied Bitnami SealedSecret;
 * - "Rolling back" from the compatibility mode: sealbox redeployed without
 *   --sealed-secrets-compat, Sealed Secrets' controller scaled back up, with
 *   sealbox's own keys added to it first; it takes over the Secrets sealbox
 *   wrote and opens both what was sealed for its own key and what kubeseal
 *   sealed for sealbox's key.
 *
 * A watch on each Secret sees every write: same uid, same data, no deletion.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterPaths } from '../cluster/control-plane.js';
import { createNamespace, deleteNamespace, eventually, kubeConfig, kubeconfigPath } from '../cluster/helpers.js';
import { BITNAMI, compatRbac, kubesealFile, realKubeseal } from '../controller/compat.js';
import { useController } from '../controller/harness.js';
import { controllerRbac } from '../controller/rbac.js';
import { eventsFor, fetchCert, readSecret, waitForReady, waitForSecret } from '../controller/sealed.js';
import type { SealedSecretsController, SealedSecretsSetup } from '../controller/sealed-secrets-controller.js';
import { removeSealedSecretsRbac, sealedSecretsControllerBinary, setUpSealedSecrets, startSealedSecretsController } from '../controller/sealed-secrets-controller.js';
import { run } from '../helpers/child.js';
import { sealboxAsync } from '../helpers/cli.js';
import { vectorKey } from '../helpers/keys.js';

const COMPAT = '--sealed-secrets-compat';
const env = useController({
  prefix: 'rollback',
  extraArgs: [COMPAT],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});
const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);
let ssNamespace = '';
let ss: SealedSecretsSetup | undefined;
let ssController: SealedSecretsController | undefined;

/** Runs a command of the doc as a user would, with the admin kubeconfig; fails the test on a non-zero exit. */
async function kubectl(...args: string[]): Promise<string> {
  const r = await run(clusterPaths().kubectl, ['--kubeconfig', kubeconfigPath(), ...args]);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${String(r.status)}: ${r.stderr.toString('utf8')}`);
  return r.stdout.toString('utf8');
}

async function sealboxOk(...args: string[]): Promise<string> {
  const r = await sealboxAsync([...args, '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]);
  if (r.status !== 0) throw new Error(`sealbox ${args.join(' ')}: exit ${String(r.status)}: ${r.stderr}`);
  return r.stderr;
}

/** A Secret's manifest for kubeseal. */
const secret = (name: string, password: string): object =>
  ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: env.namespace, labels: { app: name } }, type: 'Opaque', stringData: { password } });

interface Watched { events: { type: string; secret: k8s.V1Secret }[]; stop: () => void }

/** Every event of a watch on one Secret, from its current resourceVersion on. */
async function watchSecret(name: string): Promise<{ before: k8s.V1Secret; watch: Watched }> {
  const before = await waitForSecret(env.namespace, name);
  const events: Watched['events'] = [];
  const req = await new k8s.Watch(kubeConfig()).watch(`/api/v1/namespaces/${env.namespace}/secrets`, { fieldSelector: `metadata.name=${name}`, resourceVersion: before.metadata?.resourceVersion ?? '' },
    (type: string, s: k8s.V1Secret) => { events.push({ type, secret: s }); }, () => undefined);
  return { before, watch: { events, stop: () => { req.abort(); } } };
}

/** Every event was a modification of the same Secret with the same data. */
function expectNoGap(before: k8s.V1Secret, w: Watched): void {
  expect(w.events.map((e) => e.type).filter((t) => t !== 'MODIFIED')).toEqual([]);
  for (const e of w.events) {
    expect(e.secret.metadata?.uid).toBe(before.metadata?.uid);
    expect({ ...e.secret.data }).toEqual({ ...before.data });
  }
}

interface BitnamiObject { metadata: { uid: string; generation: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] } }

async function getBitnami(name: string): Promise<BitnamiObject> {
  return await custom().getNamespacedCustomObject({ ...BITNAMI, namespace: env.namespace, name }) as BitnamiObject;
}

/** Waits until the Bitnami SealedSecret reports Synced=True for its generation (written by whichever controller runs). */
async function waitForSynced(name: string, timeoutMs = 30_000): Promise<BitnamiObject> {
  return eventually(`bitnami SealedSecret ${name} Synced=True`, async () => {
    const o = await getBitnami(name);
    const c = o.status?.conditions?.find((x) => x.type === 'Synced');
    return o.status?.observedGeneration === o.metadata.generation && c?.status === 'True' ? o : undefined;
  }, timeoutMs, 200);
}

/** Waits for an event of Sealed Secrets' own controller (source "sealed-secrets") about one SealedSecret. */
async function waitForSealedSecretsEvent(name: string, uid: string, reason: string, timeoutMs = 30_000): Promise<k8s.CoreV1Event> {
  return eventually(`Sealed Secrets' event ${reason} for ${name}`, async () => (await eventsFor(env.namespace, name))
    .find((e) => e.reason === reason && e.source?.component === 'sealed-secrets' && e.involvedObject.uid === uid), timeoutMs, 200);
}

/** The Secret's controller owner reference. */
const controllerOf = (s: k8s.V1Secret | undefined): k8s.V1OwnerReference | undefined => s?.metadata?.ownerReferences?.find((o) => o.controller === true);

beforeAll(async () => {
  realKubeseal();
  sealedSecretsControllerBinary();
  // Sealed Secrets' namespace, its key as its controller left it (test key a), imported as MIGRATION.md step 2 says
  ssNamespace = await createNamespace('rollback-ss');
  const key = vectorKey('a');
  await kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: ssNamespace, body: {
    metadata: { generateName: 'sealed-secrets-key', labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } },
    type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(key.certPem).toString('base64'), 'tls.key': Buffer.from(key.keyPem).toString('base64') },
  } });
  await sealboxOk('keys', 'import', '--from-sealed-secrets', '--sealed-secrets-namespace', ssNamespace);
  ss = await setUpSealedSecrets(ssNamespace, [env.namespace], env.dir);
  await eventually('the imported key in /v1/certs.pem', async () => {
    const pems = await (await fetch(`${env.controllers[0]?.url ?? ''}/v1/certs.pem`)).text();
    return pems.includes(key.certPem.trim().split('\n')[1] ?? 'x') ? true : undefined;
  }, 30_000);
}, 1_900_000);

afterAll(async () => {
  await ssController?.stop();
  if (ss !== undefined) await removeSealedSecretsRbac(ss);
  if (ssNamespace !== '') await deleteNamespace(ssNamespace);
});

describe('rolling back a converted file (docs/MIGRATION.md)', () => {
  it('kubectl delete --cascade=orphan, annotate managed, git revert delivered: the Bitnami SealedSecret takes the Secret back without a gap', async () => {
    const ns = env.namespace;
    const file = join(env.dir, 'converted.yaml');
    const bitnami = kubesealFile(secret('converted', 'pw-converted'), 'strict');
    writeFileSync(file, bitnami);
    await kubectl('apply', '-f', file);
    await waitForSynced('converted');
    // converted and delivered as MIGRATION.md's "Step by step, per repository" says; the Bitnami SealedSecret deleted once Ready
    const c = await sealboxAsync(['convert', file, '--controller-url', env.controllers[0]?.url ?? '']);
    expect(c.status, c.stderr).toBe(0);
    await kubectl('apply', '-f', file);
    await waitForReady(ns, 'converted', 'True', 60_000);
    await waitForSecret(ns, 'converted', (s) => controllerOf(s)?.apiVersion === 'sealbox.dev/v1', 30_000);
    await kubectl('delete', 'sealedsecrets.bitnami.com', 'converted', '-n', ns);
    const { before, watch } = await watchSecret('converted');
    try {
      await kubectl('delete', 'sealedsecrets.sealbox.dev', 'converted', '-n', ns, '--cascade=orphan');
      await kubectl('annotate', 'secret', 'converted', '-n', ns, 'sealedsecrets.bitnami.com/managed=true');
      writeFileSync(file, bitnami); // git revert, delivered
      await kubectl('apply', '-f', file);
      const back = await waitForSynced('converted');
      const after = await waitForSecret(ns, 'converted', (s) => controllerOf(s)?.uid === back.metadata.uid, 30_000);
      expect(controllerOf(after)).toMatchObject({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'converted' });
    } finally {
      watch.stop();
    }
    expect(watch.events.length).toBeGreaterThan(0);
    expectNoGap(before, watch);
  });
});

describe('rolling back from the compatibility mode to Sealed Secrets (docs/MIGRATION.md)', () => {
  it('keeps every Secret in place while Sealed Secrets takes them over, and opens what was sealed for its key and for sealbox\'s', async () => {
    const ns = env.namespace;
    // written by sealbox in compatibility mode: one sealed for the Sealed Secrets key, one by kubeseal --cert from sealbox
    const sealboxCert = join(env.dir, 'sealbox-cert.pem');
    writeFileSync(sealboxCert, await fetchCert(env.controllers[0]?.url ?? ''));
    const files = { legacy: kubesealFile(secret('legacy', 'pw-legacy'), 'strict'), 'since-switch': kubesealFile(secret('since-switch', 'pw-since'), 'strict', sealboxCert) };
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(env.dir, `${name}.yaml`), text);
      await kubectl('apply', '-f', join(env.dir, `${name}.yaml`));
      await waitForSynced(name);
    }
    const watched = await Promise.all(Object.keys(files).map((n) => watchSecret(n)));
    try {
      // step 1: sealbox's own keys added to Sealed Secrets first (it reads its keys when it starts)
      const backup = join(env.dir, 'sealbox-keys.yaml');
      await sealboxOk('keys', 'backup', '-o', backup);
      await kubectl('apply', '-n', ssNamespace, '-f', backup);
      await kubectl('label', '-n', ssNamespace, '-f', backup, 'sealedsecrets.bitnami.com/sealed-secrets-key=active', '--overwrite');
      // step 2: sealbox redeployed without --sealed-secrets-compat; Sealed Secrets' controller scaled back up
      const old = env.controllers[0];
      await old?.kill('SIGTERM');
      await env.startReplica('controller-without-compat', [], [COMPAT]);
      if (ss === undefined) throw new Error('no Sealed Secrets setup');
      ssController = await startSealedSecretsController(ss, 'sealed-secrets-controller');
      for (const { before } of watched) {
        // step 3: Sealed Secrets unseals each (its own event, not sealbox's) and owns the Secret sealbox wrote, same uid
        const name = before.metadata?.name ?? '';
        const { uid } = (await getBitnami(name)).metadata;
        await waitForSealedSecretsEvent(name, uid, 'Unsealed');
        await waitForSynced(name);
        const after = await readSecret(ns, name);
        expect(after?.metadata?.uid).toBe(before.metadata?.uid);
        expect(controllerOf(after)).toMatchObject({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name, uid });
      }
      expect(Buffer.from((await readSecret(ns, 'since-switch'))?.data?.password ?? '', 'base64').toString('utf8')).toBe('pw-since');
    } finally {
      for (const w of watched) w.watch.stop();
    }
    for (const w of watched) expectNoGap(w.before, w.watch);
    // the file applied again: Sealed Secrets answers /v1/verify for it, as kubeseal --validate asks
    const verify = await fetch(`${ssController.url}/v1/verify`, { method: 'POST', body: JSON.stringify(parse(readFileSync(join(env.dir, 'since-switch.yaml'), 'utf8'))) });
    expect(verify.status).toBe(200);
  });
});
