// What the integration tests of `--sealed-secrets-compat` share: Sealed
// Secrets' API, deploy/compat/'s RBAC for a test's controller, and the real
// kubeseal v0.36.6 (test/cluster/ss-suite.sh, which .ci/run installs and
// caches before the tests).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT } from '../helpers/cli.js';
import { vectorKey } from '../helpers/keys.js';
import type { Manifest } from './manifests.js';
import { readManifests } from './manifests.js';

/** bitnami.com/v1alpha1 SealedSecrets, for CustomObjectsApi calls. */
export const BITNAMI = { group: 'bitnami.com', version: 'v1alpha1', plural: 'sealedsecrets' } as const;

/** deploy/compat/'s RBAC, moved to the test's controller namespace with unique cluster-scoped names. */
export function compatRbac(namespace: string, suffix: string): Manifest[] {
  return readManifests('deploy/compat').filter((d) => d.file.endsWith('rbac-compat.yaml')).map((d) => {
    const o = structuredClone(d.object);
    o.metadata = { ...o.metadata, name: `${o.metadata.name}-${suffix}` };
    if (o.kind === 'ClusterRoleBinding') {
      o.roleRef = { ...(o.roleRef as object), name: `sealbox-controller-compat-${suffix}` };
      o.subjects = (o.subjects as { namespace?: string }[]).map((s) => ({ ...s, namespace }));
    }
    return o;
  });
}

let kubesealPath: string | undefined;

/** The real kubeseal's path (installed once, cached, by test/cluster/ss-suite.sh). */
export function realKubeseal(): string {
  kubesealPath ??= execFileSync('bash', [join(ROOT, 'test', 'cluster', 'ss-suite.sh'), 'kubeseal'], { encoding: 'utf8', timeout: 1_800_000 }).trim();
  return kubesealPath;
}

/** Seals a Secret with the real kubeseal, offline, for test key a, in `scope`. */
export function kubesealFile(secret: object, scope: string): string {
  return execFileSync(realKubeseal(), ['--cert', vectorKey('a').certPath, '--scope', scope, '-o', 'yaml'], { input: stringify(secret), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}
