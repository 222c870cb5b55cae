// What the integration tests of `--sealed-secrets-compat` share: Sealed
// Secrets' API, deploy/compat/'s RBAC for a test's controller, and the real
// kubeseal v0.36.6 (test/cluster/ss-suite.sh, which .ci/run installs and
// caches before the tests).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually, kubeconfigPath } from '../cluster/helpers.js';
import { ROOT, sealbox } from '../helpers/cli.js';
import { vectorKey } from '../helpers/keys.js';
import type { ControllerEnv } from './harness.js';
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

/** Seals a Secret with the real kubeseal, offline, for test key a (or the certificate file `cert`), in `scope`. */
export function kubesealFile(secret: object, scope: string, cert = vectorKey('a').certPath): string {
  return execFileSync(realKubeseal(), ['--cert', cert, '--scope', scope, '-o', 'yaml'], { input: stringify(secret), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/**
 * Imports test key a as a Sealed Secrets key, as a user would: a `kubectl get
 * secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o
 * yaml` backup (Secret `secretName`) through `sealbox keys import
 * --from-sealed-secrets`, then waits until `env`'s controller serves its
 * certificate.
 */
export async function importSealedSecretsKey(env: ControllerEnv, secretName: string): Promise<void> {
  const key = vectorKey('a');
  const backup = { apiVersion: 'v1', kind: 'List', items: [{
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
    metadata: { name: secretName, namespace: 'kube-system', creationTimestamp: '2025-01-02T03:04:05Z', labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } },
    data: { 'tls.crt': Buffer.from(key.certPem).toString('base64'), 'tls.key': Buffer.from(key.keyPem).toString('base64') },
  }] };
  const file = join(env.dir, 'sealed-secrets-keys.yaml');
  writeFileSync(file, stringify(backup), { mode: 0o600 });
  const r = sealbox(['keys', 'import', '--from-sealed-secrets', '-f', file, '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]);
  if (!r.stderr.includes('imported 1 Sealed Secrets key(s)')) throw new Error(`keys import: ${r.stderr}`);
  await eventually('the imported key in /v1/certs.pem', async () => {
    const pems = await (await fetch(`${env.controllers[0]?.url ?? ''}/v1/certs.pem`)).text();
    return pems.includes(key.certPem.trim().split('\n')[1] ?? 'x') ? pems : undefined;
  }, 30_000);
}
