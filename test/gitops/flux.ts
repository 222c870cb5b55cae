// Flux's source-controller and kustomize-controller (built by
// test/cluster/flux.sh) run as processes against the local control plane, the
// way their pods would: each with its own service account, token and the RBAC
// Flux's install gives it, JSON logs to a file, health and metrics on free
// loopback ports. A detached watchdog (test/controller/watchdog.js) stops them
// if the test worker dies.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterPaths } from '../cluster/control-plane.js';
import { eventually, kubeConfig, kubeConfigForToken, serviceAccountToken } from '../cluster/helpers.js';
import type { Manifest } from '../controller/manifests.js';
import { applyObject, deleteObject } from '../controller/manifests.js';
import { processStartTime } from '../controller/process.js';

const WATCHDOG = fileURLToPath(new URL('../controller/watchdog.js', import.meta.url));

/** One running Flux controller. */
export interface FluxProcess {
  readonly name: string;
  readonly logFile: string;
  /** Its stdout and stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Both controllers, their namespace and what to delete afterwards. */
export interface Flux {
  readonly namespace: string;
  readonly processes: readonly FluxProcess[];
  /** Every line both controllers wrote. */
  logs(): string;
  stop(): Promise<void>;
}

/** Returns a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => { resolve(); }));
  return port;
}

/**
 * The service accounts and RBAC of Flux's install, for `namespace`:
 * kustomize-controller is bound to cluster-admin (Flux's
 * `cluster-reconciler`), source-controller gets its own sources and what it reads and records.
 */
export function fluxRbac(namespace: string, suffix: string): Manifest[] {
  const sa = (name: string): Manifest => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
  const binding = (name: string, role: string, account: string): Manifest => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${name}-${suffix}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
  });
  const sourceRole: Manifest = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `flux-source-${suffix}` },
    rules: [
      { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['*'], verbs: ['*'] },
      { apiGroups: [''], resources: ['secrets', 'configmaps', 'serviceaccounts'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
    ],
  };
  return [
    sa('source-controller'), sa('kustomize-controller'), sourceRole,
    binding('flux-source', `flux-source-${suffix}`, 'source-controller'),
    binding('flux-cluster-reconciler', 'cluster-admin', 'kustomize-controller'),
  ];
}

function watch(pid: number): void {
  const dir = join(clusterPaths().cache, 'controller-tests');
  mkdirSync(dir, { recursive: true });
  const record = join(dir, `${process.pid}-${pid}.json`);
  writeFileSync(record, JSON.stringify({ pid, start: processStartTime(pid) ?? '', ownerPid: process.pid, ownerStart: processStartTime(process.pid) ?? '' }));
  spawn(process.execPath, [WATCHDOG, record], { detached: true, stdio: 'ignore' }).unref();
}

/** Starts `bin` with `args`, logs to `<dir>/<name>.log`; resolves once its /readyz answers 200. */
async function startProcess(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv, dir: string, healthPort: number): Promise<FluxProcess> {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH, ...env } });
  closeSync(fd);
  watch(child.pid ?? 0);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const log = (): string => readFileSync(logFile, 'utf8');
  await eventually(`${name} to be ready (log ${logFile})`, async () => {
    if (exited) throw new Error(`${name} exited; log tail:\n${log().slice(-2000)}`);
    const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 120_000, 250);
  return {
    name, logFile, log,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const killer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
      await exit;
      clearTimeout(killer);
    },
  };
}

async function tokenKubeconfig(namespace: string, account: string, dir: string): Promise<string> {
  const token = await serviceAccountToken(namespace, account, 3 * 3600);
  const file = join(dir, `${account}.kubeconfig`);
  writeFileSync(file, kubeConfigForToken(token).exportConfig(), { mode: 0o600 });
  return file;
}

function commonArgs(metrics: number, health: number): string[] {
  return [
    '--log-encoding', 'json', '--log-level', 'debug',
    '--metrics-addr', `127.0.0.1:${metrics}`, '--health-addr', `127.0.0.1:${health}`,
    '--enable-leader-election=false', '--watch-all-namespaces=true',
  ];
}

/** The environment of a Flux controller's pod: its kubeconfig (token only) and namespace. */
async function podEnv(namespace: string, account: string, dir: string): Promise<NodeJS.ProcessEnv> {
  return { KUBECONFIG: await tokenKubeconfig(namespace, account, dir), RUNTIME_NAMESPACE: namespace };
}

/**
 * Applies Flux's service accounts and RBAC in `namespace` (which must exist)
 * and starts both controllers from `fluxDir` (test/cluster/flux.sh's output).
 */
export async function startFlux(fluxDir: string, namespace: string, dir: string, suffix: string): Promise<Flux> {
  const admin = kubeConfig();
  const rbac = fluxRbac(namespace, suffix);
  for (const obj of rbac) {
    const res = await applyObject(admin, obj, { dryRun: false });
    if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: HTTP ${res.status}`);
  }
  const [m1, h1, storage, m2, h2] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const processes: FluxProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const obj of rbac.filter((o) => o.kind.startsWith('Cluster'))) await deleteObject(admin, obj);
  };
  try {
    const storagePath = join(dir, 'source-storage');
    mkdirSync(storagePath, { recursive: true });
    processes.push(await startProcess('source-controller', join(fluxDir, 'bin', 'source-controller'), [
      ...commonArgs(m1, h1),
      '--storage-path', storagePath, '--storage-addr', `127.0.0.1:${storage}`, '--storage-adv-addr', `127.0.0.1:${storage}`,
    ], await podEnv(namespace, 'source-controller', dir), dir, h1));
    processes.push(await startProcess('kustomize-controller', join(fluxDir, 'bin', 'kustomize-controller'),
      // a Kustomization created before its source's first artifact waits this long (default 30s)
      [...commonArgs(m2, h2), '--requeue-dependency', '2s'], await podEnv(namespace, 'kustomize-controller', dir), dir, h2));
  } catch (err) {
    await stop();
    throw err;
  }
  return { namespace, processes, logs: () => processes.map((p) => p.log()).join('\n'), stop };
}
