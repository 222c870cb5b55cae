// `sealbox controller` processes on any cluster (the shared one or a private
// one from private-cluster.ts), set up the way test/controller/harness.ts does
// it — deploy/'s ServiceAccount and RBAC in a namespace of their own, a
// token-only kubeconfig, the built CLI as a child process — but for a cluster
// given by its admin KubeConfig, and with flags a fault test chooses.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { waitForLeader } from '../controller/harness.js';
import type { Manifest } from '../controller/manifests.js';
import { applyObject, deleteObject } from '../controller/manifests.js';
import type { ControllerProcess } from '../controller/process.js';
import { startController, sweepLeftoverControllers } from '../controller/process.js';
import { controllerRbac, controllerServiceAccount } from '../controller/rbac.js';
import { createNamespaceWith, tokenFor, tokenKubeconfigText } from './private-cluster.js';

/** Options of setUpControllerEnv. */
export interface ChaosControllerOptions {
  readonly prefix: string;
  /** Watched namespaces to create (default 1). */
  readonly watchedNamespaces?: number;
  /** Flags after the defaults below; a repeated flag overrides (the last one wins). */
  readonly extraArgs?: readonly string[];
  /** More environment for the controller processes. */
  readonly env?: Readonly<Record<string, string>>;
  /** More RBAC besides deploy/'s base (e.g. compatRbac), given the controller namespace and the suffix of cluster-scoped names. */
  readonly extraRbac?: (controllerNamespace: string, suffix: string) => Manifest[];
}

/** A controller environment on one cluster. */
export interface ChaosControllerEnv {
  readonly controllerNamespace: string;
  readonly namespaces: readonly string[];
  readonly tokenKubeconfig: string;
  readonly dir: string;
  readonly rbac: readonly Manifest[];
  /** Every process started, killed ones included. */
  readonly controllers: ControllerProcess[];
  /** Starts one more replica with the same flags. */
  start(name: string): Promise<ControllerProcess>;
  /** The replica that leads and is ready. */
  leader(timeoutMs?: number): Promise<ControllerProcess>;
  /** Stops every replica and deletes what setUp created. */
  tearDown(): Promise<void>;
}

/**
 * Defaults close to the product's: leader election on with the shipped lease
 * timings (15 s / 10 s / 2 s), 2048-bit keys to keep key generation short.
 */
function defaultArgs(tokenKubeconfig: string, controllerNamespace: string, namespaces: readonly string[]): string[] {
  return [
    '--kubeconfig', tokenKubeconfig,
    '--namespace', controllerNamespace,
    '--watch-namespaces', namespaces.join(','),
    '--listen', '127.0.0.1:0',
    '--key-bits', '2048',
    '--key-check-interval', '1s',
    '--log-level', 'info',
  ];
}

/**
 * Creates the namespaces, applies deploy/'s controller RBAC (cluster-scoped
 * names made unique), makes a token kubeconfig and starts one controller.
 * @throws {Error} when the API server refuses an object or the controller does not lead
 */
export async function setUpControllerEnv(kc: k8s.KubeConfig, o: ChaosControllerOptions): Promise<ChaosControllerEnv> {
  sweepLeftoverControllers();
  const dir = mkdtempSync(join(tmpdir(), `sealbox-${o.prefix}-`));
  const controllerNamespace = await createNamespaceWith(kc, `${o.prefix}-ctrl`);
  const namespaces: string[] = [];
  for (let i = 0; i < (o.watchedNamespaces ?? 1); i++) namespaces.push(await createNamespaceWith(kc, `${o.prefix}-${i}`));
  const suffix = randomBytes(4).toString('hex');
  const rbac = [...controllerRbac(controllerNamespace, suffix), ...(o.extraRbac?.(controllerNamespace, suffix) ?? [])];
  for (const obj of rbac) {
    const res = await applyObject(kc, obj, { dryRun: false });
    if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  }
  const token = await tokenFor(kc, controllerNamespace, controllerServiceAccount(rbac));
  const tokenKubeconfig = join(dir, 'token-kubeconfig');
  writeFileSync(tokenKubeconfig, tokenKubeconfigText(kc, token), { mode: 0o600 });
  const args = [...defaultArgs(tokenKubeconfig, controllerNamespace, namespaces), ...(o.extraArgs ?? [])];
  const controllers: ControllerProcess[] = [];
  const start = async (name: string): Promise<ControllerProcess> => {
    // startController spawns synchronously with process.env: set the extra
    // variables for that moment only
    const saved = Object.fromEntries(Object.keys(o.env ?? {}).map((k) => [k, process.env[k]]));
    Object.assign(process.env, o.env ?? {});
    const starting = startController({ name, logDir: dir, args });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
    const c = await starting;
    controllers.push(c);
    return c;
  };
  await start('controller-0');
  const env: ChaosControllerEnv = {
    controllerNamespace, namespaces, tokenKubeconfig, dir, rbac, controllers, start,
    leader: (timeoutMs = 60_000) => waitForLeader(controllers, timeoutMs),
    async tearDown(): Promise<void> {
      await Promise.all(controllers.map(async (c) => {
        const killer = setTimeout(() => void c.kill('SIGKILL'), 5000);
        await c.kill('SIGTERM');
        clearTimeout(killer);
      }));
      for (const obj of rbac.filter((x) => x.kind.startsWith('Cluster'))) await deleteObject(kc, obj).catch(() => 0);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      for (const ns of [...namespaces, controllerNamespace]) await core.deleteNamespace({ name: ns }).catch(() => undefined);
      if (process.env.SEALBOX_CLUSTER_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
  await env.leader();
  return env;
}
