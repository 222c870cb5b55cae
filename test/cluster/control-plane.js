// @ts-check
// Starts and stops a real local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager) built by build.sh. Plain ESM with
// JSDoc so vitest, `npm run demo` and bench scripts can all use it from Node 20.
// Types for TypeScript callers: control-plane.d.ts.
import process from 'node:process';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import {
  apiserverArgs, controllerManagerArgs, etcdArgs, freePorts, request, spawnComponent, waitReady,
} from './components.js';
import { generatePki } from './pki.js';
import { processStartTime, readPidFiles, stopRecorded, writePidFile } from './procs.js';
import { cleanupStaleRuns, createRunDir, stopRun } from './runs.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Returns the pinned versions and binary paths from versions.sh (the one
 * place they are written), honouring SEALBOX_CACHE.
 * @returns {import('./control-plane.d.ts').ClusterPaths}
 */
export function clusterPaths() {
  const out = execFileSync('bash', ['-c',
    'source "$1" && printf "%s\\n" "$SEALBOX_CACHE" "$K8S_VERSION" "$ETCD_VERSION"', '_', join(here, 'versions.sh')],
  { encoding: 'utf8' });
  const [cache = '', k8sVersion = '', etcdVersion = ''] = out.trim().split('\n');
  const k8sBin = join(cache, `k8s-v${k8sVersion}`, 'bin');
  return {
    cache, k8sVersion, etcdVersion, runRoot: join(cache, 'run'), buildScript: join(here, 'build.sh'),
    etcd: join(cache, `etcd-v${etcdVersion}`, 'bin', 'etcd'),
    apiserver: join(k8sBin, 'kube-apiserver'),
    controllerManager: join(k8sBin, 'kube-controller-manager'),
    kubectl: join(k8sBin, 'kubectl'),
  };
}

/**
 * Runs build.sh (a no-op when the binaries are cached), streaming its output
 * to our stderr.
 * @throws {Error} when the build fails, with the reason
 */
export async function buildControlPlane() {
  const { buildScript } = clusterPaths();
  const child = spawn('bash', [buildScript], { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr.on('data', (/** @type {Buffer} */ c) => {
    process.stderr.write(c);
    tail = (tail + c.toString()).slice(-2000);
  });
  const code = await new Promise((resolve) => {
    child.on('close', resolve);
    child.on('error', () => { resolve(-1); });
  });
  if (code !== 0) throw new Error(`building the control plane failed (bash ${buildScript}, exit ${code}):\n${tail.trim()}`);
}

/**
 * Starts a control plane on free loopback ports and waits until it serves
 * requests and kube-controller-manager (unless `controllerManager: false`)
 * is working. First stops stale runs
 * left by killed runners. Unless `persistent`, a watchdog stops everything
 * when the calling process dies, however it dies.
 * @param {import('./control-plane.d.ts').StartOptions} [opts]
 * @returns {Promise<import('./control-plane.d.ts').ControlPlane>}
 * @throws {Error} when binaries are missing or a component fails to start
 */
export async function startControlPlane(opts = {}) {
  const log = opts.log ?? (() => undefined);
  const paths = clusterPaths();
  if (opts.build === true) await buildControlPlane();
  for (const exe of [paths.etcd, paths.apiserver, paths.controllerManager]) {
    if (!existsSync(exe)) throw new Error(`control plane binary ${exe} is missing; run bash ${paths.buildScript}`);
  }
  await cleanupStaleRuns(paths.runRoot, log);
  const started = Date.now();
  const id = opts.id ?? `${started.toString(36)}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const stateDir = join(paths.runRoot, id);
  if (existsSync(stateDir)) throw new Error(`control plane state dir ${stateDir} already exists`);
  createRunDir(stateDir, opts.persistent === true);
  try {
    if (opts.persistent !== true) startWatchdog(stateDir);
    const pki = generatePki(join(stateDir, 'pki'));
    const tls = { ca: readFileSync(pki.caCert, 'utf8'), cert: readFileSync(pki.adminCert, 'utf8'), key: readFileSync(pki.adminKey, 'utf8') };
    for (let attempt = 1; ; attempt++) {
      try {
        const server = await launch(paths, stateDir, pki, tls, { crdFiles: opts.crdFiles ?? [], controllerManager: opts.controllerManager !== false });
        log(`sealbox: control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${server}`);
        return handle(stateDir, server, pki.caCert, opts.keepState === true);
      } catch (err) {
        if (attempt >= 3 || /** @type {{ code?: unknown }} */ (err).code !== 'EADDRINUSE') throw err;
        // another run took a port between our choice and the bind: stop what started, pick new ports
        await stopRecorded(readPidFiles(join(stateDir, 'pids')).filter((r) => r.name !== 'watchdog'), stateDir);
      }
    }
  } catch (err) {
    await stopRun(stateDir, { keep: opts.keepState === true });
    throw err;
  }
}

/**
 * Stops the control plane whose state lives in `stateDir` (found by its pid
 * files) and deletes the directory. Safe to call when it is already stopped.
 * @param {string} stateDir
 */
export async function stopControlPlane(stateDir) {
  await stopRun(stateDir);
}

/**
 * @param {import('./control-plane.d.ts').ClusterPaths} paths
 * @param {string} stateDir
 * @param {import('./pki.js').Pki} pki
 * @param {import('./components.js').TlsClient} tls
 * @param {{ crdFiles: string[], controllerManager: boolean }} o
 * @returns {Promise<string>} the API server URL
 */
async function launch(paths, stateDir, pki, tls, o) {
  const [etcdPort = 0, peerPort = 0, port = 0] = await freePorts(3);
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki), { mode: 0o600 });

  const dataDir = join(stateDir, `etcd-${etcdPort}`);
  const etcd = spawnComponent(stateDir, 'etcd', paths.etcd, etcdArgs({ dataDir, clientPort: etcdPort, peerPort }));
  await waitReady(etcd, async () => (await request(`http://127.0.0.1:${etcdPort}/health`)).status === 200, 20_000, 'healthy');

  const api = spawnComponent(stateDir, 'kube-apiserver', paths.apiserver, apiserverArgs({ stateDir, etcdPort, port, pki }));
  await waitReady(api, async () => (await request(`${server}/readyz`, { tls })).status === 200, 60_000, '/readyz ok');

  // CRDs go in before kube-controller-manager starts, so the garbage collector
  // watches their kinds from the beginning instead of after its next rediscovery
  await applyCrds(server, tls, o.crdFiles);
  if (!o.controllerManager) return server;

  const kcm = spawnComponent(stateDir, 'kube-controller-manager', paths.controllerManager, controllerManagerArgs({ kubeconfig, pki }));
  await waitReady(kcm, async () => (await request(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { tls })).status === 200,
    60_000, 'creating the default service account');
  return server;
}

/**
 * @param {string} stateDir
 * @param {string} server
 * @param {string} caFile
 * @param {boolean} keep
 * @returns {import('./control-plane.d.ts').ControlPlane}
 */
function handle(stateDir, server, caFile, keep) {
  /** @type {Record<string, number>} */
  const pids = {};
  for (const r of readPidFiles(join(stateDir, 'pids'))) pids[r.name] = r.pid;
  return { stateDir, server, caFile, kubeconfig: join(stateDir, 'kubeconfig'), pids, stop: async () => { await stopRun(stateDir, { keep }); } };
}

/**
 * Spawns watchdog.js, which stops this run when the calling process is gone.
 * @param {string} stateDir
 */
function startWatchdog(stateDir) {
  const script = join(here, 'watchdog.js');
  const child = spawn(process.execPath, [script, stateDir, String(process.pid), processStartTime(process.pid) ?? ''],
    { detached: true, stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not start the control plane watchdog');
  writePidFile(join(stateDir, 'pids'), { name: 'watchdog', pid: child.pid, exe: process.execPath });
  child.unref();
}

/**
 * Returns an admin kubeconfig with the certificates embedded, so it can be
 * copied or read by any client.
 * @param {string} server
 * @param {import('./pki.js').Pki} pki
 */
function kubeconfigYaml(server, pki) {
  const b64 = (/** @type {string} */ f) => readFileSync(f).toString('base64');
  return stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sealbox-test',
    clusters: [{ name: 'sealbox-test', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [{ name: 'sealbox-admin', user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) } }],
    contexts: [{ name: 'sealbox-test', context: { cluster: 'sealbox-test', user: 'sealbox-admin' } }],
  });
}

/**
 * Creates every CustomResourceDefinition found in the files and waits until
 * each is Established. Other kinds in the files are ignored.
 * @param {string} server
 * @param {import('./components.js').TlsClient} tls
 * @param {string[]} files
 * @throws {Error} naming the file when the API server rejects a CRD
 */
async function applyCrds(server, tls, files) {
  const base = `${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`;
  /** @type {string[]} */
  const names = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`crd file ${file}: invalid yaml: ${doc.errors[0]?.message ?? ''}`);
      const obj = /** @type {{ kind?: string, metadata?: { name?: string } } | null} */ (doc.toJS());
      if (obj?.kind !== 'CustomResourceDefinition') continue;
      const res = await request(base, { tls, method: 'POST', body: obj });
      if (res.status !== 201 && res.status !== 409) {
        throw new Error(`crd ${obj.metadata?.name ?? '?'} from ${file} was rejected (${res.status}): ${statusMessage(res.body)}`);
      }
      names.push(obj.metadata?.name ?? '');
    }
  }
  const deadline = Date.now() + 30_000;
  for (const name of names) {
    while (!(await established(`${base}/${name}`, tls))) {
      if (Date.now() > deadline) throw new Error(`crd ${name} was not established within 30 s`);
      await sleep(100);
    }
  }
}

/**
 * @param {string} url
 * @param {import('./components.js').TlsClient} tls
 */
async function established(url, tls) {
  const res = await request(url, { tls });
  if (res.status !== 200) return false;
  const crd = /** @type {{ status?: { conditions?: { type: string, status: string }[] } }} */ (JSON.parse(res.body));
  return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
}

/** @param {string} body */
function statusMessage(body) {
  try {
    return String(/** @type {{ message?: unknown }} */ (JSON.parse(body)).message ?? body);
  } catch {
    return body;
  }
}
