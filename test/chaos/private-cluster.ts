// A private control plane for fault tests: started with startControlPlane
// (test/cluster), so its etcd and kube-apiserver can be killed and relaunched
// (restart.js) without disturbing the shared one other test files use.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import type { ControlPlane } from '../cluster/control-plane.js';
import { startControlPlane } from '../cluster/control-plane.js';
import { restartComponent } from './restart.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The components of a private control plane that a test may restart. */
export type Component = 'etcd' | 'kube-apiserver';

/** A private control plane and an admin client for it. */
export interface PrivateCluster {
  readonly cp: ControlPlane;
  /** Admin (system:masters) client configuration. */
  readonly kc: k8s.KubeConfig;
  /**
   * Kills `component` with SIGKILL and starts it again with the same command
   * line; resolves when it answers again. Returns how long it was down.
   */
  restart(component: Component): Promise<{ downMs: number; attempts: number }>;
  stop(): Promise<void>;
}

/** CRD files the shared control plane installs too: test/cluster/fixtures, crds/ and Sealed Secrets' API (deploy/compat/). */
function crdFiles(): string[] {
  const compat = join(root, 'deploy', 'compat', 'sealedsecrets.bitnami.com.yaml');
  return [join(root, 'test', 'cluster', 'fixtures'), join(root, 'crds')].filter((d) => existsSync(d)).flatMap((d) =>
    readdirSync(d).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(d, f))).concat(existsSync(compat) ? [compat] : []);
}

/**
 * Starts a private control plane named `chaos-<prefix>-<random>` (state in
 * $SEALBOX_CACHE/run/<id>, stopped by its watchdog if this process dies).
 * `controllerManager: false` leaves kube-controller-manager out (see StartOptions).
 * @throws {Error} when the binaries are missing or a component fails to start
 */
export async function startPrivateCluster(prefix: string, o: { controllerManager?: boolean } = {}): Promise<PrivateCluster> {
  const cp = await startControlPlane({
    id: `chaos-${prefix}-${randomBytes(3).toString('hex')}`, crdFiles: crdFiles(), keepState: process.env.SEALBOX_CLUSTER_KEEP === '1',
    controllerManager: o.controllerManager,
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  return { cp, kc, restart: (component) => restartComponent(cp.stateDir, component), stop: () => cp.stop() };
}

/** Creates a namespace `<prefix>-<random>` with the given admin client; returns its name. */
export async function createNamespaceWith(kc: k8s.KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/**
 * Returns a token for a service account through the TokenRequest API of the
 * cluster `kc` points at (the shared helpers only know the shared cluster).
 * @throws {Error} when no token comes back
 */
export async function tokenFor(kc: k8s.KubeConfig, namespace: string, name: string, expirationSeconds = 3 * 3600): Promise<string> {
  const res = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds } } });
  const token = res.status?.token;
  if (token === undefined || token === '') throw new Error(`no token for ${namespace}/${name}`);
  return token;
}

/** A kubeconfig (YAML text) for the same cluster as `kc` that authenticates with `token` only. */
export function tokenKubeconfigText(kc: k8s.KubeConfig, token: string): string {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const out = new k8s.KubeConfig();
  out.loadFromClusterAndUser(cluster, { name: 'token-user', token });
  return out.exportConfig();
}
