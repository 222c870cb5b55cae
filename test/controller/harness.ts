// One controller environment per test file: a random controller namespace
// holding deploy/'s ServiceAccount and RBAC (cluster-scoped names made unique),
// watched test namespaces, a kubeconfig with the service account's token (not
// the admin certificate), and `sealbox controller` processes using it.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { cluster, createNamespace, deleteNamespace, eventually, kubeConfig, kubeConfigForToken, serviceAccountToken } from '../cluster/helpers.js';
import type { Manifest } from './manifests.js';
import { applyObject, deleteObject } from './manifests.js';
import { metricValue, scrape } from './metrics.js';
import type { ControllerProcess } from './process.js';
import { startController, sweepLeftoverControllers } from './process.js';
import { controllerRbac, controllerServiceAccount } from './rbac.js';

/** Options of useController. */
export interface ControllerEnvOptions {
  /** Namespace name prefix. */
  readonly prefix: string;
  /** How many test namespaces the controller watches (default 1). */
  readonly watchedNamespaces?: number;
  /** Controller processes started before the tests (default 1; 0 starts none). */
  readonly replicas?: number;
  /** --resync-period (default 30s). */
  readonly resyncPeriod?: string;
  /** More controller flags, e.g. --kube-api-qps. */
  readonly extraArgs?: readonly string[];
  /** Watch the controller's own namespace too (where its keys live). */
  readonly watchControllerNamespace?: boolean;
  /**
   * The RBAC to apply instead of deploy/'s base (controllerRbac), e.g. a
   * variant's: given the controller namespace, the watched ones and a suffix
   * for cluster-scoped names.
   */
  readonly rbac?: (controllerNamespace: string, watched: readonly string[], suffix: string) => Manifest[];
}

/** What a test file gets from useController; read inside tests and hooks only. */
export interface ControllerEnv {
  /** The controller's own namespace (keys, Lease, sealbox-certs). */
  readonly controllerNamespace: string;
  /** The watched namespaces; `namespace` is the first. */
  readonly namespaces: readonly string[];
  readonly namespace: string;
  /** kubeconfig with the controller service account's token only. */
  readonly tokenKubeconfig: string;
  /** The RBAC objects applied, as rewritten from deploy/. */
  readonly rbac: readonly Manifest[];
  /** Processes started so far, in start order (killed ones included). */
  readonly controllers: readonly ControllerProcess[];
  /** Where logs and the token kubeconfig are written. */
  readonly dir: string;
  /**
   * Starts one more replica with the same flags, less the boolean flags in
   * `dropFlags` (e.g. a redeploy without --sealed-secrets-compat), and
   * `extraArgs` (e.g. its --shard) after them.
   */
  startReplica(name: string, extraArgs?: readonly string[], dropFlags?: readonly string[]): Promise<ControllerProcess>;
}

interface State {
  controllerNamespace: string;
  namespaces: string[];
  tokenKubeconfig: string;
  rbac: Manifest[];
  controllers: ControllerProcess[];
  dir: string;
  args: string[];
}

function controllerArgs(s: State, o: ControllerEnvOptions): string[] {
  return [
    '--kubeconfig', s.tokenKubeconfig,
    '--namespace', s.controllerNamespace,
    '--watch-namespaces', [...s.namespaces, ...(o.watchControllerNamespace === true ? [s.controllerNamespace] : [])].join(','),
    '--listen', '127.0.0.1:0',
    '--key-bits', '2048',
    '--key-check-interval', '1s',
    '--resync-period', o.resyncPeriod ?? '30s',
    '--lease-duration', '4s',
    '--renew-deadline', '3s',
    '--retry-period', '1s',
    '--log-level', 'debug',
    ...(o.extraArgs ?? []),
  ];
}

/** Resolves once some replica leads, serves a certificate and is ready. */
export async function waitForLeader(controllers: readonly ControllerProcess[], timeoutMs = 30_000): Promise<ControllerProcess> {
  return eventually('a controller replica to lead and be ready', async () => {
    for (const c of controllers.filter((x) => x.alive())) {
      if (metricValue(await scrape(c.url), 'sealbox_leader') !== 1) continue;
      const [ready, cert] = await Promise.all([fetch(`${c.url}/readyz`), fetch(`${c.url}/v1/cert.pem`)]);
      if (ready.status === 200 && cert.status === 200) return c;
    }
    return undefined;
  }, timeoutMs, 100);
}

/**
 * Fills `s` step by step (so tearDown can undo a setup that failed halfway):
 * namespaces, deploy/'s RBAC, a token and its kubeconfig, the controller flags.
 */
async function setUp(s: State, o: ControllerEnvOptions): Promise<void> {
  sweepLeftoverControllers();
  s.dir = mkdtempSync(join(tmpdir(), `sealbox-${o.prefix}-`));
  s.controllerNamespace = await createNamespace(`${o.prefix}-ctrl`);
  for (let i = 0; i < (o.watchedNamespaces ?? 1); i++) s.namespaces.push(await createNamespace(`${o.prefix}-${i}`));
  const admin = kubeConfig();
  const suffix = randomBytes(4).toString('hex');
  for (const obj of o.rbac?.(s.controllerNamespace, s.namespaces, suffix) ?? controllerRbac(s.controllerNamespace, suffix)) {
    s.rbac.push(obj);
    const res = await applyObject(admin, obj, { dryRun: false });
    if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  }
  const token = await serviceAccountToken(s.controllerNamespace, controllerServiceAccount(s.rbac), 3 * 3600);
  s.tokenKubeconfig = join(s.dir, 'token-kubeconfig');
  writeFileSync(s.tokenKubeconfig, kubeConfigForToken(token).exportConfig(), { mode: 0o600 });
  chmodSync(s.tokenKubeconfig, 0o600);
  s.args = controllerArgs(s, o);
}

async function tearDown(s: State): Promise<void> {
  await Promise.all(s.controllers.map(async (c) => {
    const killer = setTimeout(() => void c.kill('SIGKILL'), 5000);
    await c.kill('SIGTERM');
    clearTimeout(killer);
  }));
  const admin = kubeConfig();
  for (const obj of s.rbac.filter((x) => x.kind.startsWith('Cluster'))) await deleteObject(admin, obj);
  for (const ns of [...s.namespaces, s.controllerNamespace].filter((n) => n !== '')) await deleteNamespace(ns);
  if (s.dir !== '' && process.env.SEALBOX_CLUSTER_KEEP !== '1') rmSync(s.dir, { recursive: true, force: true });
}

/**
 * Gives the calling test file its own controller: namespaces, RBAC and token
 * in beforeAll, `replicas` processes started, one of them leading; all
 * stopped and deleted in afterAll (logs kept with SEALBOX_CLUSTER_KEEP=1).
 */
export function useController(o: ControllerEnvOptions): ControllerEnv {
  let state: State | undefined;
  const get = (): State => {
    if (state === undefined) throw new Error('the controller environment is not set up; read it inside a test or hook');
    return state;
  };
  beforeAll(async () => {
    if (inject('sealboxCluster').error !== '') return;
    state = { controllerNamespace: '', namespaces: [], tokenKubeconfig: '', rbac: [], controllers: [], dir: '', args: [] };
    await setUp(state, o);
    for (let i = 0; i < (o.replicas ?? 1); i++) {
      state.controllers.push(await startController({ name: `controller-${i}`, logDir: state.dir, args: state.args }));
    }
    if (state.controllers.length > 0) await waitForLeader(state.controllers);
  }, 120_000);
  beforeEach(() => { cluster(); });
  afterAll(async () => { if (state !== undefined) await tearDown(state); }, 60_000);
  return {
    get controllerNamespace() { return get().controllerNamespace; },
    get namespaces() { return get().namespaces; },
    get namespace() { return get().namespaces[0] ?? ''; },
    get tokenKubeconfig() { return get().tokenKubeconfig; },
    get rbac() { return get().rbac; },
    get controllers() { return get().controllers; },
    get dir() { return get().dir; },
    async startReplica(name: string, extraArgs: readonly string[] = [], dropFlags: readonly string[] = []): Promise<ControllerProcess> {
      const s = get();
      const c = await startController({ name, logDir: s.dir, args: [...s.args.filter((a) => !dropFlags.includes(a)), ...extraArgs] });
      s.controllers.push(c);
      return c;
    },
  };
}
