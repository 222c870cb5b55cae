// A tenant of the cluster, as issue 11's second review attacked it: a service
// account with the built-in `edit` role in one namespace, and an admin-made
// client that authenticates as it. Also deploy/'s heap flags, so that a test
// runs the controller with the memory it has in a pod.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { tokenFor, tokenKubeconfigText } from './private-cluster.js';

/**
 * Creates service account `tenant` bound to ClusterRole `edit` in `namespace`
 * and returns a KubeConfig that authenticates with its token only.
 */
export async function editTenant(admin: k8s.KubeConfig, namespace: string): Promise<k8s.KubeConfig> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'tenant' } } });
  await admin.makeApiClient(k8s.RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tenant-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace }],
    },
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromString(tokenKubeconfigText(admin, await tokenFor(admin, namespace, 'tenant')));
  return kc;
}

/** The literal value deploy/deployment.yaml gives the environment variable `name`, or undefined. */
function deployEnvValue(name: string): string | undefined {
  const text = readFileSync(new URL('../../deploy/deployment.yaml', import.meta.url), 'utf8');
  const m = new RegExp(`- name: ${name}\\s*\\n\\s*value: (.+)\\n`).exec(text);
  return m?.[1]?.trim().replace(/^["']|["']$/g, '');
}

/** The NODE_OPTIONS that deploy/deployment.yaml gives the controller container. */
export function deployNodeOptions(): string {
  const v = deployEnvValue('NODE_OPTIONS');
  if (v === undefined) throw new Error('deploy/deployment.yaml sets no NODE_OPTIONS');
  return v;
}

/** The environment deploy/deployment.yaml gives the controller that shapes its memory: NODE_OPTIONS and MALLOC_ARENA_MAX. */
export function deployEnv(): Record<string, string> {
  const arenas = deployEnvValue('MALLOC_ARENA_MAX');
  return { NODE_OPTIONS: deployNodeOptions(), ...(arenas === undefined ? {} : { MALLOC_ARENA_MAX: arenas }) };
}

/** A process's peak resident set size (VmHWM), in MiB. */
export function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 'NaN') / 1024;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      if (item !== undefined) await fn(item, i);
    }
  }));
}
