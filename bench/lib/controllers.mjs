// The two controllers under test, behind one shape: install (RBAC, CRD
// already in), start with the same API QPS/burst, fetch the sealing
// certificate, seal fixtures for it, create sealed resources, read metrics,
// stop. Each runs against its own fresh control plane.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, existsSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { applyManifests, tokenKubeconfig } from '../../scripts/lib/install.mjs';
import { freePort } from '../../test/peers/kms-servers.js';
import { run } from './proc.mjs';

/** GET over plain HTTP on loopback; resolves { status, text } or undefined when not answering. */
async function httpGet(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

async function until(what, fn, ms, proc) {
  const end = Date.now() + ms;
  for (;;) {
    if (proc !== undefined && proc.exitCode !== null) throw new Error(`${what}: the controller exited (code ${proc.exitCode}); see ${proc.logFile}`);
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Parses Prometheus text into { "name{labels}": value } and a sum(name, filter) helper. */
export function parseProm(text) {
  const series = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    series.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return {
    series,
    sum: (name, filter = () => true) => series.filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0),
  };
}

class Proc {
  constructor(child, logFile, name) {
    this.child = child;
    this.pid = child.pid;
    this.logFile = logFile;
    this.name = name;
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }
  get exitCode() {
    return this.child.exitCode ?? (this.child.signalCode === null ? null : -1);
  }
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited, sleep(10_000).then(() => undefined)]);
    if (done === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * The environment of the controller container in deploy/deployment.yaml that
 * shapes its memory (NODE_OPTIONS, MALLOC_ARENA_MAX): the bench runs it as deployed.
 */
function deployedEnv(root) {
  const doc = parseAllDocuments(readFileSync(join(root, 'deploy/deployment.yaml'), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
  const container = doc?.spec?.template?.spec?.containers?.find((c) => c.name === 'controller') ?? doc?.spec?.template?.spec?.containers?.[0];
  const value = (name) => container?.env?.find((e) => e.name === name)?.value;
  if (typeof value('NODE_OPTIONS') !== 'string') throw new Error('deploy/deployment.yaml: no NODE_OPTIONS on the controller container');
  return Object.fromEntries(['NODE_OPTIONS', 'MALLOC_ARENA_MAX'].filter((n) => typeof value(n) === 'string').map((n) => [n, value(n)]));
}

/** sealbox's controller, run from the bundle (what `bin` and the image run), with the token deploy/ RBAC grants. */
export class SealboxController {
  name = 'sealbox';
  group = 'sealbox.dev';
  version = 'v1';

  constructor({ root, cp, kube, work, qps, burst, resyncPeriod, log }) {
    Object.assign(this, { root, cp, kube, work, qps, burst, resyncPeriod, log });
    // BENCH_SEALBOX_BIN: another build of the CLI (e.g. a copy of main's, for an A/B run)
    this.bin = process.env.BENCH_SEALBOX_BIN || join(root, 'dist/bundle/sealbox.js');
    this.crdFiles = [join(root, 'crds/sealedsecrets.sealbox.dev.yaml')];
  }

  async install() {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.cp.kubeconfig);
    await applyManifests(kc, [join(this.root, 'crds'), join(this.root, 'deploy')]);
    this.tokenKc = join(this.work, 'sealbox-controller.kubeconfig');
    writeFileSync(this.tokenKc, await tokenKubeconfig(kc, 'sealbox-system', 'sealbox-controller'), { mode: 0o600 });
  }

  async start(tag, { qps = this.qps, burst = this.burst, extraArgs = [] } = {}) {
    this.port = await freePort();
    const logFile = join(this.work, `sealbox-controller-${tag}.log`);
    const fd = openSync(logFile, 'a');
    // BENCH_PROFILE_DIR: write a V8 CPU profile of each sealbox controller run (node --cpu-prof)
    // BENCH_NODE_ARGS: more node flags for it (e.g. --heapsnapshot-signal=SIGUSR2)
    const prof = [
      ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=sealbox-controller-${tag}.cpuprofile`] : []),
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ];
    const child = spawn(process.execPath, [...prof, this.bin, 'controller', '--kubeconfig', this.tokenKc, '--namespace', 'sealbox-system',
      '--listen', `127.0.0.1:${this.port}`, '--kube-api-qps', String(qps), '--kube-api-burst', String(burst),
      '--resync-period', `${this.resyncPeriod}s`, ...extraArgs], { stdio: ['ignore', fd, fd], env: { ...process.env, ...deployedEnv(this.root) } });
    closeSync(fd);
    this.proc = new Proc(child, logFile, 'sealbox controller');
    return this.proc;
  }

  async cert() {
    const r = await until('the sealbox certificate', async () => {
      const res = await httpGet(`http://127.0.0.1:${this.port}/v1/cert.pem`);
      return res?.status === 200 && res.text.includes('BEGIN CERTIFICATE') ? res.text : undefined;
    }, 120_000, this.proc);
    return r;
  }

  /** Seals a multi-document Secret stream with the CLI (one process); returns the sealed objects. */
  seal(secretsYaml, certFile) {
    const c = this.sealCommand(certFile);
    const out = run(c.cmd, c.args, { input: secretsYaml });
    return parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
  }

  /** The command that seals a multi-document Secret stream on stdin for `certFile`. */
  sealCommand(certFile) {
    return { cmd: process.execPath, args: [this.bin, 'seal', '--cert', certFile], env: process.env };
  }

  collection(ns) {
    return `/apis/sealbox.dev/v1/namespaces/${ns}/sealedsecrets`;
  }

  async metrics() {
    const res = await httpGet(`http://127.0.0.1:${this.port}/metrics`);
    if (res?.status !== 200) return undefined;
    const p = parseProm(res.text);
    return {
      rsaOps: p.sum('sealbox_rsa_private_operations_total'),
      apiWrites: p.sum('sealbox_api_requests_total', (l) => ['create', 'update', 'patch', 'delete'].includes(l.verb)),
      apiWritesNoLease: p.sum('sealbox_api_requests_total', (l) => ['create', 'update', 'patch', 'delete'].includes(l.verb) && l.resource !== 'leases'),
      apiRequests: p.sum('sealbox_api_requests_total'),
      byVerb: Object.fromEntries(p.series.filter((s) => s.name === 'sealbox_api_requests_total').map((s) => [`${s.labels.verb} ${s.labels.resource}`, s.value])),
      reconciles: p.sum('sealbox_reconciles_total'),
      unchanged: p.sum('sealbox_reconciles_total', (l) => l.result === 'unchanged'),
      failed: p.sum('sealbox_reconciles_total', (l) => l.result === 'failed'),
      // lists started again after a 410 (an expired resourceVersion or continue token)
      relists: Object.fromEntries(p.series.filter((s) => s.name === 'sealbox_watch_relists_total').map((s) => [s.labels.resource, s.value])),
      heapUsedBytes: p.sum('sealbox_nodejs_heap_size_used_bytes'),
      heapTotalBytes: p.sum('sealbox_nodejs_heap_size_total_bytes'),
      externalBytes: p.sum('sealbox_nodejs_external_memory_bytes'),
    };
  }
}

/**
 * Bitnami's sealed-secrets controller. It only knows rest.InClusterConfig(),
 * so it runs with KUBERNETES_SERVICE_HOST/PORT at the local API server and a
 * service-account token + ca.crt at /var/run/secrets/kubernetes.io/serviceaccount,
 * bind-mounted in a private mount namespace (unshare -m) so the real path is
 * never touched. RBAC: its service account is bound to cluster-admin (the
 * helm chart's own roles need templating; RBAC evaluation cost is not what
 * is measured).
 */
export class BitnamiController {
  name = 'sealed-secrets';
  group = 'bitnami.com';
  version = 'v1alpha1';

  constructor({ peers, cp, kube, work, qps, burst, log }) {
    Object.assign(this, { peers, cp, kube, work, qps, burst, log });
    this.crdFiles = [peers.crd];
  }

  async install() {
    const ns = 'kube-system';
    const sa = 'sealed-secrets-controller';
    await this.kube.req('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } }, { ok: [201, 409] });
    await this.kube.req('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: 'bench-sealed-secrets-controller' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    }, { ok: [201, 409] });
    const tr = await this.kube.req('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } }, { ok: [201] });
    this.saDir = join(this.work, 'bitnami-serviceaccount');
    mkdirSync(this.saDir, { recursive: true });
    writeFileSync(join(this.saDir, 'token'), tr.body.status.token, { mode: 0o600 });
    writeFileSync(join(this.saDir, 'ca.crt'), this.kube.tls.ca);
    writeFileSync(join(this.saDir, 'namespace'), ns);
    this.mode = unshareWorks() ? 'unshare' : 'files';
  }

  async start(tag, { qps = this.qps, burst = this.burst } = {}) {
    this.port = await freePort();
    this.metricsPort = await freePort();
    const logFile = join(this.work, `sealed-secrets-controller-${tag}.log`);
    const url = new URL(this.cp.server);
    const env = { ...process.env, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port, POD_NAMESPACE: 'kube-system' };
    const args = [`--listen-addr=127.0.0.1:${this.port}`, `--listen-metrics-addr=127.0.0.1:${this.metricsPort}`,
      `--kubeclient-qps=${qps}`, `--kubeclient-burst=${burst}`];
    const fd = openSync(logFile, 'a');
    let child;
    if (this.mode === 'unshare') {
      // a tmpfs over /run (= /var/run) in a private mount namespace, holding only the service-account files
      const script = 'set -e; mount -t tmpfs -o mode=0755 tmpfs /run; d=/run/secrets/kubernetes.io/serviceaccount; mkdir -p "$d"; ' +
        'cp "$1/token" "$1/ca.crt" "$1/namespace" "$d/"; shift; exec "$@"';
      child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', this.saDir, this.peers.controller, ...args],
        { stdio: ['ignore', fd, fd], env });
    } else {
      placeServiceAccountFiles(this.saDir);
      child = spawn(this.peers.controller, args, { stdio: ['ignore', fd, fd], env });
    }
    closeSync(fd);
    this.proc = new Proc(child, logFile, 'sealed-secrets controller');
    return this.proc;
  }

  async cert() {
    return until('the sealed-secrets certificate', async () => {
      const res = await httpGet(`http://127.0.0.1:${this.port}/v1/cert.pem`);
      return res?.status === 200 && res.text.includes('BEGIN CERTIFICATE') ? res.text : undefined;
    }, 120_000, this.proc);
  }

  /** Seals a multi-document Secret stream with kubeseal (one process); returns the sealed objects. */
  seal(secretsYaml, certFile) {
    const c = this.sealCommand(certFile);
    const out = run(c.cmd, c.args, { input: secretsYaml, env: c.env });
    return parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
  }

  /** The command that seals a multi-document Secret stream on stdin for `certFile`. */
  sealCommand(certFile) {
    return { cmd: this.peers.kubeseal, args: ['--cert', certFile, '--format', 'yaml'], env: { ...process.env, KUBECONFIG: '/dev/null' } };
  }

  collection(ns) {
    return `/apis/bitnami.com/v1alpha1/namespaces/${ns}/sealedsecrets`;
  }

  async metrics() {
    const res = await httpGet(`http://127.0.0.1:${this.metricsPort}/metrics`);
    if (res?.status !== 200) return undefined;
    const p = parseProm(res.text);
    return {
      unsealRequests: p.sum('sealed_secrets_controller_unseal_requests_total'),
      unsealErrors: p.sum('sealed_secrets_controller_unseal_errors_total'),
      heapInuseBytes: p.sum('go_memstats_heap_inuse_bytes'),
      heapSysBytes: p.sum('go_memstats_heap_sys_bytes'),
    };
  }

  async stopAndClean() {
    await this.proc?.stop();
    if (this.mode === 'files') removeServiceAccountFiles();
  }
}

let unshareChecked;
function unshareWorks() {
  unshareChecked ??= spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run'], { stdio: 'ignore' }).status === 0;
  return unshareChecked;
}

// Fallback when unshare is not allowed: write the files at the real path,
// remembering what was there, and restore it afterwards.
const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
let placed;
function placeServiceAccountFiles(dir) {
  if (placed !== undefined) return;
  // the top-most folder of the path that we create (and so remove afterwards)
  const created = ['/var/run/secrets', '/var/run/secrets/kubernetes.io', SA_PATH].find((d) => !existsSync(d));
  placed = { created, saved: {} };
  mkdirSync(SA_PATH, { recursive: true });
  for (const f of ['token', 'ca.crt', 'namespace']) {
    const p = join(SA_PATH, f);
    if (existsSync(p)) placed.saved[f] = readFileSync(p);
    writeFileSync(p, readFileSync(join(dir, f)));
  }
}
function removeServiceAccountFiles() {
  if (placed === undefined) return;
  for (const f of ['token', 'ca.crt', 'namespace']) {
    const p = join(SA_PATH, f);
    if (placed.saved[f] !== undefined) writeFileSync(p, placed.saved[f]);
    else rmSync(p, { force: true });
  }
  if (placed.created !== undefined) rmSync(placed.created, { recursive: true, force: true });
  placed = undefined;
}
