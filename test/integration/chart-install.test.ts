// charts/sealbox installed with the real Helm into the local control plane
// (issue 14 §3). No kubelet runs pods here, so the chart's Deployment never
// starts; the controller runs as a process with the chart's service-account
// token and the chart's Deployment's arguments and environment, as the demo
// runs deploy/'s. Then helm upgrade and helm uninstall: no Secret or key is
// orphaned or lost, and the keys survive the uninstall (as Sealed Secrets').
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiErrorCode, createNamespace, deleteNamespace, kubeConfig, kubeConfigForToken, kubeconfigPath, serviceAccountToken, useNamespace } from '../cluster/helpers.js';
import { CHART, helmBinary, helmOk, parseObjects, valuesFile } from '../cluster/helm.js';
import type { Manifest } from '../controller/manifests.js';
import { waitForLeader } from '../controller/harness.js';
import type { ControllerProcess } from '../controller/process.js';
import { startController, sweepLeftoverControllers } from '../controller/process.js';
import { ensureBuilt } from '../helpers/cli.js';
import { createSealed, fetchCert, seal, secretText, waitForReady, waitForSecret } from '../controller/sealed.js';

const KEY_LABEL = 'sealbox.dev/sealing-key=true';
const release = `sbx-${randomBytes(3).toString('hex')}`;
/** The chart's cluster-scoped names for this release (the release name without "sealbox" gets it appended). */
const prefix = `${release}-sealbox`;
const watchedA = useNamespace('chart-a');
const watchedB = useNamespace('chart-b');

interface Container { args: string[]; env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] }
const s = { ns: '', dir: '', controller: undefined as ControllerProcess | undefined, cert: '', keys: [] as string[] };
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);

/** `helm ARGS` against the local control plane, in the release namespace. */
async function helmCluster(args: readonly string[]): Promise<string> {
  return helmOk([...args, '--namespace', s.ns], kubeconfigPath());
}

/** The objects of the installed release, as Helm applied them. */
async function releaseObjects(): Promise<Manifest[]> {
  return parseObjects(await helmCluster(['get', 'manifest', release]));
}

/** The chart Deployment's container environment, with the downward API filled in as the kubelet would. */
function podEnv(c: Container): NodeJS.ProcessEnv {
  const fields: Record<string, string> = { 'metadata.namespace': s.ns, 'metadata.name': 'sealbox-controller-0' };
  return Object.fromEntries(c.env.map((e) => [e.name, e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '']));
}

/** Starts `sealbox controller` as the chart's pod would run it, with a fresh token of the chart's service account. */
async function startChartController(name: string): Promise<ControllerProcess> {
  const d = (await releaseObjects()).find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } } } | undefined;
  const pod = d?.spec.template.spec;
  const c = pod?.containers[0];
  if (pod === undefined || c === undefined) throw new Error('the release has no Deployment');
  const kc = join(s.dir, `${name}.kubeconfig`);
  writeFileSync(kc, kubeConfigForToken(await serviceAccountToken(s.ns, pod.serviceAccountName, 3600)).exportConfig(), { mode: 0o600 });
  // the container's args start with the subcommand; the rest are the chart's, then what a process here needs
  const args = [...c.args.slice(1), '--kubeconfig', kc, '--listen', '127.0.0.1:0', '--key-bits', '2048', '--key-check-interval', '1s',
    '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '1s'];
  const controller = await startController({ name, logDir: s.dir, args, env: podEnv(c) });
  await waitForLeader([controller], 60_000);
  return controller;
}

async function stopController(): Promise<void> {
  await s.controller?.kill('SIGTERM');
  s.controller = undefined;
}

/** Names of the sealing-key Secrets in the release namespace. */
async function keyNames(): Promise<string[]> {
  return (await core().listNamespacedSecret({ namespace: s.ns, labelSelector: KEY_LABEL })).items.map((x) => x.metadata?.name ?? '').sort();
}

/** Every Secret of a namespace whose owner is gone (or that has no owner at all), by name. */
async function orphanedSecrets(namespace: string): Promise<string[]> {
  const sealed = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const list = (await sealed.listNamespacedCustomObject({ group: 'sealbox.dev', version: 'v1', namespace, plural: 'sealedsecrets' })) as { items: Manifest[] };
  const uids = new Set(list.items.map((o) => o.metadata.uid));
  const secrets = (await core().listNamespacedSecret({ namespace })).items;
  return secrets.filter((x) => !(x.metadata?.ownerReferences ?? []).some((r) => uids.has(r.uid))).map((x) => x.metadata?.name ?? '');
}

async function sealInto(namespace: string, password: string): Promise<void> {
  await createSealed(namespace, await seal(s.cert, { name: `db-${password}`, namespace, data: { password } }));
  expect(secretText(await waitForSecret(namespace, `db-${password}`))).toEqual({ password });
  await waitForReady(namespace, `db-${password}`, 'True');
}

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (apiErrorCode(err) === 404) return true;
    throw err;
  }
}

beforeAll(async () => {
  // helm and dist/ built (or found) before any test's clock starts
  helmBinary();
  ensureBuilt();
  if (inject('sealboxCluster').error !== '') return; // each test then fails with the reason
  // created bare, as `kubectl create namespace` would: the chart takes it over and labels it
  s.ns = await createNamespace('chart-ctrl');
  sweepLeftoverControllers();
  s.dir = mkdtempSync(join(tmpdir(), 'sealbox-chart-'));
}, 20 * 60_000);

afterAll(async () => {
  await stopController();
  if (s.ns === '') return;
  await helmOk(['uninstall', release, '--namespace', s.ns, '--ignore-not-found'], kubeconfigPath()).catch(() => '');
  await deleteNamespace(s.ns);
  if (s.dir !== '' && process.env.SEALBOX_CLUSTER_KEEP !== '1') rmSync(s.dir, { recursive: true, force: true });
}, 60_000);

describe('helm install, upgrade and uninstall of charts/sealbox', () => {
  it('installs the namespace, identity and rights, and the controller run with them makes a Secret from a sealed resource', async () => {
    await helmCluster(['install', release, CHART, '--take-ownership',
      '-f', valuesFile({ namespace: { create: true }, watchNamespaces: [watchedA.name] })]);
    const labels = (await core().readNamespace({ name: s.ns })).metadata?.labels ?? {};
    expect(labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    s.controller = await startChartController('controller-1');
    s.cert = await fetchCert(s.controller.url);
    await sealInto(watchedA.name, 'first');
    s.keys = await keyNames();
    expect(s.keys).toHaveLength(1);
  });

  it('helm upgrade to a second watched namespace keeps the key and leaves no Secret behind', async () => {
    await helmCluster(['upgrade', release, CHART, '--reuse-values', '-f', valuesFile({ watchNamespaces: [watchedA.name, watchedB.name] })]);
    await stopController();
    s.controller = await startChartController('controller-2');
    await sealInto(watchedB.name, 'second');
    expect(await keyNames()).toEqual(s.keys);
    for (const ns of [watchedA.name, watchedB.name]) expect(await orphanedSecrets(ns), ns).toEqual([]);
    const own = (await core().listNamespacedSecret({ namespace: s.ns })).items.map((x) => x.metadata?.name ?? '').sort();
    expect(own).toEqual([...s.keys, `sh.helm.release.v1.${release}.v1`, `sh.helm.release.v1.${release}.v2`].sort());
  });

  it('helm uninstall removes what the chart made and keeps the namespace, keys, sealed resources and their Secrets', async () => {
    const installed = await releaseObjects();
    await stopController();
    await helmCluster(['uninstall', release, '--wait']);
    const rbac = kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
    for (const name of [`${prefix}-controller`, `${prefix}-user`, `${prefix}-view`]) expect(await gone(() => rbac.readClusterRole({ name })), name).toBe(true);
    expect(await gone(() => core().readNamespacedServiceAccount({ namespace: s.ns, name: 'sealbox-controller' }))).toBe(true);
    expect(await gone(() => rbac.readNamespacedRoleBinding({ namespace: watchedB.name, name: 'sealbox-controller' }))).toBe(true);
    expect(installed.some((o) => o.kind === 'ValidatingAdmissionPolicy')).toBe(true);
    const admission = kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
    expect(await gone(() => admission.readValidatingAdmissionPolicy({ name: `${prefix}-controller-no-token-secrets` }))).toBe(true);
    // kept: the namespace (resource policy), the keys in it (the controller's, not the chart's), nothing else
    expect((await core().readNamespace({ name: s.ns })).metadata?.deletionTimestamp).toBeUndefined();
    const own = (await core().listNamespacedSecret({ namespace: s.ns })).items.map((x) => x.metadata?.name ?? '').sort();
    expect(own).toEqual(s.keys);
    for (const ns of [watchedA.name, watchedB.name]) {
      expect(await orphanedSecrets(ns), ns).toEqual([]);
      expect((await core().listNamespacedSecret({ namespace: ns })).items).toHaveLength(1);
    }
  });

  it('a reinstall uses the surviving key: a resource sealed before the uninstall unseals, and no key is added', async () => {
    await helmCluster(['install', release, CHART, '-f', valuesFile({ namespace: { create: true }, watchNamespaces: [watchedA.name] })]);
    s.controller = await startChartController('controller-3');
    expect(await fetchCert(s.controller.url)).toBe(s.cert);
    await sealInto(watchedA.name, 'third');
    expect(await keyNames()).toEqual(s.keys);
  });
});
