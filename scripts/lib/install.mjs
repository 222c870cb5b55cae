// Installs manifests and makes service-account kubeconfigs; shared by the demo
// and the benchmarks (plain ESM so Node 20 runs it without a build step).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

/** Lists the .yaml files of `path` (a file or a folder), skipping kustomization.yaml. */
function manifestFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .map((f) => join(path, f));
}

/**
 * Server-side applies every document of the given files/folders (field
 * manager "sealbox-install"), CRDs first. Returns one "kind/name applied"
 * line per object. `dryRun` asks the API server to validate without saving.
 * loadAllYaml turns documents into client-node models, so fields such as
 * x-kubernetes-validations survive serialisation.
 */
export async function applyManifests(kc, paths, { dryRun = false, namespace } = {}) {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const docs = paths.flatMap(manifestFiles).flatMap((f) => k8s.loadAllYaml(readFileSync(f, 'utf8'))).filter(Boolean);
  docs.sort((a, b) => Number(b.kind === 'CustomResourceDefinition') - Number(a.kind === 'CustomResourceDefinition') || Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  const lines = [];
  for (const doc of docs) {
    if (namespace !== undefined && doc.metadata?.namespace !== undefined) doc.metadata.namespace = namespace;
    await client.patch(doc, undefined, dryRun ? 'All' : undefined, 'sealbox-install', true, k8s.PatchStrategy.ServerSideApply);
    lines.push(`${doc.kind.toLowerCase()}/${doc.metadata?.name} ${dryRun ? 'validated (server dry run)' : 'applied'}`);
  }
  return lines;
}

/**
 * Returns a kubeconfig (YAML text) that authenticates as the service account
 * `namespace/name` with a fresh TokenRequest token, for the same cluster as `kc`.
 */
export async function tokenKubeconfig(kc, namespace, name, expirationSeconds = 86_400) {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { expirationSeconds } } });
  const cluster = kc.getCurrentCluster();
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: [{ name: 'cluster', server: cluster.server, caData: ca }],
    users: [{ name: `${namespace}-${name}`, token: tr.status.token }],
    contexts: [{ name: 'sa', cluster: 'cluster', user: `${namespace}-${name}`, namespace }],
    currentContext: 'sa',
  });
  return out.exportConfig();
}
