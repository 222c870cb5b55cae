// The controller's service account and RBAC from deploy/, moved into a test's
// own controller namespace, with cluster-scoped names made unique so test
// files running at the same time do not share (or delete) each other's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Manifest } from './manifests.js';
import { readManifests } from './manifests.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The files that make up the controller's identity and rights in deploy/. */
const RBAC_FILES = ['deploy/serviceaccount.yaml', 'deploy/rbac-controller.yaml'];

interface Subject { kind: string; name: string; namespace?: string }
interface RoleRef { apiGroup: string; kind: string; name: string }

/**
 * Returns deploy/'s ServiceAccount, Roles, ClusterRoles and their bindings,
 * rewritten for `namespace`: namespaced objects and service-account subjects
 * move there, and every ClusterRole and ClusterRoleBinding is renamed
 * `<name>-<suffix>` (bindings' roleRefs follow). Rules are not touched: the
 * test runs with exactly the rights deploy/ grants.
 * @throws {Error} when deploy/ has no ServiceAccount or no bindings
 */
export function controllerRbac(namespace: string, suffix: string): Manifest[] {
  const docs = readManifests('deploy').filter((d) => RBAC_FILES.includes(d.file)).map((d) => structuredClone(d.object));
  const clusterRoles = new Set(docs.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name));
  const out = docs.map((o) => {
    const clusterScoped = o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding';
    const metadata = clusterScoped ? { ...o.metadata, name: `${o.metadata.name}-${suffix}` } : { ...o.metadata, namespace };
    const next: Manifest = { ...o, metadata };
    if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
      const ref = o.roleRef as RoleRef;
      next.roleRef = ref.kind === 'ClusterRole' && clusterRoles.has(ref.name) ? { ...ref, name: `${ref.name}-${suffix}` } : ref;
      next.subjects = (o.subjects as Subject[]).map((s) => (s.kind === 'ServiceAccount' ? { ...s, namespace } : s));
    }
    return next;
  });
  if (!out.some((o) => o.kind === 'ServiceAccount')) throw new Error(`no ServiceAccount in ${RBAC_FILES.join(', ')}`);
  if (!out.some((o) => o.kind.endsWith('Binding'))) throw new Error(`no RoleBinding or ClusterRoleBinding in ${RBAC_FILES.join(', ')}`);
  return out;
}

/** The service account the controller runs as (deploy/serviceaccount.yaml). */
export function controllerServiceAccount(objects: readonly Manifest[]): string {
  const sa = objects.find((o) => o.kind === 'ServiceAccount');
  if (sa === undefined) throw new Error('no ServiceAccount');
  return sa.metadata.name;
}

/** The example watched namespace of deploy/namespaced/rbac-namespaced.yaml. */
const EXAMPLE_WATCHED = 'apps';

/** `{kind, name}` of each object that a `$patch: delete` patch of a kustomization removes. */
function deletedByPatches(kustomization: Manifest): { kind: string; name: string }[] {
  const patches = (kustomization.patches ?? []) as { patch?: string }[];
  return patches.flatMap((p) => {
    if (p.patch === undefined || !p.patch.includes('$patch: delete')) return [];
    const doc = parse(p.patch) as Manifest;
    return [{ kind: doc.kind, name: doc.metadata.name }];
  });
}

/**
 * deploy/'s RBAC as the component deploy/namespaced/ changes it (what
 * `kustomize build` of an overlay using it gives), for `namespace` and the
 * `watched` namespaces: the objects its patches delete are gone, and its own
 * RoleBindings are added, the example one once per watched namespace.
 * Cluster-scoped names get `suffix`, as in controllerRbac.
 * @throws {Error} when deploy/namespaced/ is missing or deletes nothing
 */
export function namespacedControllerRbac(namespace: string, watched: readonly string[], suffix: string): Manifest[] {
  const kustomization = parse(readFileSync(join(root, 'deploy/namespaced/kustomization.yaml'), 'utf8')) as Manifest;
  const deleted = deletedByPatches(kustomization);
  if (deleted.length === 0) throw new Error('deploy/namespaced/kustomization.yaml deletes nothing from the base');
  const base = controllerRbac(namespace, suffix).filter((o) => !deleted.some((d) => d.kind === o.kind && `${d.name}-${suffix}` === o.metadata.name));
  const clusterRole = (name: string): string => `${name}-${suffix}`;
  const added = readManifests('deploy/namespaced').flatMap(({ object: o }) => {
    const targets = o.metadata.namespace === EXAMPLE_WATCHED ? watched : [namespace];
    return targets.map((ns): Manifest => {
      const next: Manifest = { ...structuredClone(o), metadata: { ...o.metadata, namespace: ns } };
      if (o.kind === 'RoleBinding') {
        const ref = o.roleRef as RoleRef;
        next.roleRef = ref.kind === 'ClusterRole' ? { ...ref, name: clusterRole(ref.name) } : ref;
        next.subjects = (o.subjects as Subject[]).map((s) => (s.kind === 'ServiceAccount' ? { ...s, namespace } : s));
      }
      return next;
    });
  });
  return [...base, ...added];
}
