// The GitOps side of test/gitops: Flux's GitRepository and Kustomization
// for a repository on the loopback Git server, the `reconcile.fluxcd.io/requestedAt`
// trigger (what `flux reconcile` sets), and reading their conditions, events
// and the SealedSecrets' health the way Flux's health check sees it.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { eventually, kubeConfig } from '../cluster/helpers.js';

const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);

const SOURCE = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories' } as const;
const KUSTOMIZATION = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' } as const;

/** A Flux condition. */
export interface FluxCondition { type: string; status: string; reason: string; message: string; lastTransitionTime: string }

/** A Kustomization or GitRepository as the API server returns it. */
export interface FluxObject {
  metadata: { name: string; namespace: string; generation?: number };
  status?: { conditions?: FluxCondition[]; lastAppliedRevision?: string; lastAttemptedRevision?: string; artifact?: { revision?: string } };
}

/** The Flux objects docs/GITOPS.md shows, as test/gitops/flux-sync.yaml holds them. */
export const FLUX_SYNC_FILE = fileURLToPath(new URL('./flux-sync.yaml', import.meta.url));

/**
 * Returns the documents of flux-sync.yaml for namespace `ns`, Git URL `url`
 * and the Kustomization's `timeout`, with intervals of a few seconds.
 */
export function fluxSync(ns: string, url: string, timeout: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(FLUX_SYNC_FILE, 'utf8')).map((d) => {
    const o = d.toJS() as { metadata: Record<string, unknown>; spec: Record<string, unknown>; kind: string };
    o.metadata.namespace = ns;
    o.spec.interval = '5s';
    if (o.kind === 'GitRepository') o.spec.url = url;
    else Object.assign(o.spec, { timeout, retryInterval: '3s' });
    return o;
  });
}

/** Creates the Flux objects. */
export async function applyFluxSync(docs: Record<string, unknown>[]): Promise<void> {
  for (const body of docs) {
    const plural = body.kind === 'GitRepository' ? SOURCE : KUSTOMIZATION;
    const ns = (body.metadata as { namespace: string }).namespace;
    await custom().createNamespacedCustomObject({ ...plural, namespace: ns, body });
  }
}

/** Asks both Flux objects to reconcile now (what `flux reconcile kustomization --with-source` does). */
export async function requestReconcile(ns: string, name: string): Promise<void> {
  const patch = { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } };
  const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  await custom().patchNamespacedCustomObject({ ...SOURCE, namespace: ns, name, body: patch }, opts);
  await custom().patchNamespacedCustomObject({ ...KUSTOMIZATION, namespace: ns, name, body: patch }, opts);
}

/** Reads the Kustomization. */
export async function getKustomization(ns: string, name: string): Promise<FluxObject> {
  return (await custom().getNamespacedCustomObject({ ...KUSTOMIZATION, namespace: ns, name })) as FluxObject;
}

/** Reads the GitRepository. */
export async function getGitRepository(ns: string, name: string): Promise<FluxObject> {
  return (await custom().getNamespacedCustomObject({ ...SOURCE, namespace: ns, name })) as FluxObject;
}

/** Returns condition `type` of `o`. */
export function condition(o: FluxObject, type: string): FluxCondition | undefined {
  return o.status?.conditions?.find((c) => c.type === type);
}

/**
 * Waits until the Kustomization has attempted `commit` and its Ready
 * condition has `status`; returns it.
 * @throws {Error} with its last conditions when `timeoutMs` passes first
 */
export async function waitForKustomization(ns: string, name: string, commit: string, status: 'True' | 'False', timeoutMs: number): Promise<FluxObject> {
  let last: FluxObject | undefined;
  try {
    return await eventually(`Kustomization ${name} Ready=${status} at ${commit.slice(0, 12)}`, async () => {
      last = await getKustomization(ns, name);
      const attempted = last.status?.lastAttemptedRevision ?? '';
      return attempted.endsWith(commit) && condition(last, 'Ready')?.status === status ? last : undefined;
    }, timeoutMs, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message}; conditions: ${JSON.stringify(last?.status ?? {})}`, { cause: err });
  }
}

/** Every Event in `namespaces`, as JSON text (to search for leaked values). */
export async function eventsText(namespaces: readonly string[]): Promise<string> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const lists = await Promise.all(namespaces.map((namespace) => core.listNamespacedEvent({ namespace })));
  return JSON.stringify(lists.flatMap((l) => l.items));
}

/** The reasons of the Warning Events on object `name` in `namespace`. */
export async function warningReasons(namespace: string, name: string): Promise<string[]> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},type=Warning` });
  return list.items.map((e) => e.reason ?? '');
}
