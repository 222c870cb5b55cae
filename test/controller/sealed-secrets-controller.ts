// Sealed Secrets' own controller (v0.36.6, installed and cached by
// test/cluster/ss-suite.sh controller) as a process on this machine, for the
// tests of rolling back from sealbox to it (docs/MIGRATION.md). It knows only
// rest.InClusterConfig(): it runs with KUBERNETES_SERVICE_HOST/PORT at the
// local API server and a service-account token and ca.crt at
// /var/run/secrets/kubernetes.io/serviceaccount, mounted in a private mount
// namespace of its own (unshare -m; -r too when not root), so the machine's
// real path is never touched. It watches only the namespaces it is given:
// other test files' Sealed Secrets are not its business.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { createServiceAccount, kubeConfig, kubeObject, serviceAccountToken } from '../cluster/helpers.js';
import { ROOT } from '../helpers/cli.js';
import { guardChild } from './process.js';

/** A running Sealed Secrets controller. */
export interface SealedSecretsController {
  /** http://127.0.0.1:PORT: /v1/cert.pem, /v1/verify, /v1/rotate */
  readonly url: string;
  log(): string;
  /** SIGTERM (as a scale-down); resolves once it has exited. */
  stop(): Promise<void>;
}

/** Where it runs: its own namespace (keys, POD_NAMESPACE), the namespaces it watches, a folder for logs and its token. */
export interface SealedSecretsSetup {
  readonly namespace: string;
  readonly watch: readonly string[];
  readonly dir: string;
  /** ClusterRoleBinding to delete afterwards (removeSealedSecretsRbac). */
  readonly binding: string;
}

let binary: string | undefined;

/** The real controller's path (installed once, cached). */
export function sealedSecretsControllerBinary(): string {
  binary ??= execFileSync('bash', [join(ROOT, 'test', 'cluster', 'ss-suite.sh'), 'controller'], { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return binary;
}

/**
 * Its service account in `namespace`, bound to cluster-admin (its chart's
 * RBAC needs templating; what it may do is not what these tests judge), and
 * the in-cluster files (token, ca.crt, namespace) in `dir/serviceaccount`.
 */
export async function setUpSealedSecrets(namespace: string, watch: readonly string[], dir: string): Promise<SealedSecretsSetup> {
  const sa = 'sealed-secrets-controller';
  await createServiceAccount(namespace, sa);
  const binding = `sealed-secrets-controller-${randomBytes(4).toString('hex')}`;
  await kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api).createClusterRoleBinding({ body: kubeObject<k8s.V1ClusterRoleBinding>({
    metadata: { name: binding },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
  }) });
  const saDir = join(dir, 'serviceaccount');
  mkdirSync(saDir, { recursive: true });
  const ca = kubeConfig().getCurrentCluster();
  const caPem = ca?.caData !== undefined ? Buffer.from(ca.caData, 'base64') : readFileSync(ca?.caFile ?? '');
  writeFileSync(join(saDir, 'token'), await serviceAccountToken(namespace, sa, 3 * 3600), { mode: 0o600 });
  writeFileSync(join(saDir, 'ca.crt'), caPem);
  writeFileSync(join(saDir, 'namespace'), namespace);
  return { namespace, watch, dir, binding };
}

/** Deletes the ClusterRoleBinding of setUpSealedSecrets (the namespaces go with the test's). */
export async function removeSealedSecretsRbac(s: SealedSecretsSetup): Promise<void> {
  await kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: s.binding }).catch(() => undefined);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * Starts the controller as its Deployment would (scaled up), with
 * `--key-renew-period=0`: the test keys are older than its 30-day period, and
 * a rotation would spend seconds on a 4096-bit key that no step here needs.
 * Resolves once it serves its certificate.
 * @throws {Error} with the log's tail when it exits or does not serve in time
 */
export async function startSealedSecretsController(s: SealedSecretsSetup, name: string): Promise<SealedSecretsController> {
  const port = await freePort();
  const logFile = join(s.dir, `${name}.log`);
  const server = new URL(kubeConfig().getCurrentCluster()?.server ?? '');
  const args = [`--listen-addr=127.0.0.1:${String(port)}`, '--listen-metrics-addr=127.0.0.1:0', '--all-namespaces=false',
    `--additional-namespaces=${s.watch.join(',')}`, '--key-renew-period=0'];
  // a tmpfs over /var/run (or where it links to) in a private mount namespace, holding only the service-account files
  const script = 'set -e; r="$(readlink -f /var/run)"; mount -t tmpfs -o mode=0755 tmpfs "$r"; d="$r/secrets/kubernetes.io/serviceaccount"; mkdir -p "$d"; cp "$1"/* "$d/"; shift; exec "$@"';
  const unshare = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
  const fd = openSync(logFile, 'a');
  const child = spawn('unshare', [...unshare, '--propagation', 'private', 'sh', '-c', script, 'sh', join(s.dir, 'serviceaccount'), sealedSecretsControllerBinary(), ...args], {
    stdio: ['ignore', fd, fd], env: { ...process.env, KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port, POD_NAMESPACE: s.namespace },
  });
  closeSync(fd);
  guardChild(child.pid ?? 0);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const url = `http://127.0.0.1:${String(port)}`;
  for (const deadline = Date.now() + 60_000; ;) {
    const ok = await fetch(`${url}/v1/cert.pem`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sealed-secrets controller ${name} ${child.exitCode !== null ? `exited (code ${String(child.exitCode)})` : 'did not serve in time'}; log tail:\n${log().slice(-3000)}`);
    }
    await sleep(100);
  }
  return { url, log, async stop() { if (child.exitCode === null) child.kill('SIGTERM'); await exited; } };
}
