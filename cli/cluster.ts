import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { EXIT_CODES, SealboxError, isSealboxError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { CERTS_CONFIGMAP } from '../src/kube/names.js';
import { printable } from './terminal.js';

/** Flags that say how to reach the cluster and the controller. */
export interface ClusterFlags {
  kubeconfig?: string;
  controllerNamespace: string;
  controllerName: string;
  controllerUrl?: string;
}

/** Adds --kubeconfig, --controller-namespace, --controller-name and --controller-url to a command. */
export function addClusterOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config)'))
    .addOption(new Option('--controller-namespace <ns>', 'namespace of the sealbox controller').env('SEALBOX_CONTROLLER_NAMESPACE').default('sealbox-system'))
    .addOption(new Option('--controller-name <name>', 'Service name of the controller').env('SEALBOX_CONTROLLER_NAME').default('sealbox-controller'))
    .addOption(new Option('--controller-url <url>', 'reach the controller directly (e.g. http://127.0.0.1:8080) instead of through the API server').env('SEALBOX_CONTROLLER_URL'));
}

/**
 * True when there is a kubeconfig to load: --kubeconfig, an existing file
 * of $KUBECONFIG, ~/.kube/config, or a pod's service account. Without one
 * the client falls back to http://localhost:8080 and fails with a long,
 * unrelated message.
 */
export function hasKubeconfig(flags: Pick<ClusterFlags, 'kubeconfig'>, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flags.kubeconfig !== undefined && flags.kubeconfig !== '') return true;
  if (env.KUBERNETES_SERVICE_HOST !== undefined) return true;
  const files = env.KUBECONFIG !== undefined && env.KUBECONFIG !== '' ? env.KUBECONFIG.split(delimiter) : [join(env.HOME ?? homedir(), '.kube', 'config')];
  return files.some((f) => f !== '' && existsSync(f));
}

/** Opens the Kubernetes API; @kubernetes/client-node is loaded only here, only when needed. */
export async function connect(flags: ClusterFlags): Promise<import('../src/kube/api.js').KubeApi> {
  if (!hasKubeconfig(flags)) {
    throw new SealboxError('KUBE', 'no kubeconfig found ($KUBECONFIG, ~/.kube/config): pass --kubeconfig FILE, or --controller-url URL to reach the controller directly; to seal without a cluster, pass --cert CERT');
  }
  const [{ KubeApi }, { loadKubeConfig }] = await Promise.all([import('../src/kube/api.js'), import('../src/kube/config.js')]);
  try {
    return new KubeApi(loadKubeConfig(flags.kubeconfig), { qps: 20, burst: 40, fieldManager: 'sealbox-cli' });
  } catch (cause) {
    throw new SealboxError('KUBE', 'cannot load a kubeconfig; pass --kubeconfig or --cert', { cause });
  }
}

/**
 * Fetches the controller's public certificates (PEM, newest first): from its
 * public ConfigMap, falling back to the service proxy (or --controller-url).
 * Throws SealboxError('KUBE' | 'PROVIDER') saying what was tried.
 */
export async function fetchCertificates(flags: ClusterFlags, all: boolean): Promise<string> {
  const file = all ? 'certs.pem' : 'cert.pem';
  if (flags.controllerUrl !== undefined) return fetchDirect(`${controllerBase(flags.controllerUrl)}/v1/${file}`);
  const api = await connect(flags);
  let configMapError = '';
  try {
    const cm = await api.getConfigMap(flags.controllerNamespace, CERTS_CONFIGMAP);
    const pem = cm?.data?.[file];
    if (pem !== undefined && pem !== '') return pem;
    configMapError = `configmap ${flags.controllerNamespace}/${CERTS_CONFIGMAP} has no ${file}`;
  } catch (err) {
    if (!isSealboxError(err)) throw err;
    configMapError = err.message;
  }
  const res = await api.serviceProxy('GET', flags.controllerNamespace, `${flags.controllerName}:http`, `/v1/${file}`).catch((err: unknown) => ({ status: 0, body: err instanceof Error ? err.message : '' }));
  if (res.status === 200) return res.body;
  throw new SealboxError('KUBE', `cannot fetch the certificate: ${configMapError}; service proxy: ${res.status === 0 ? res.body : `HTTP ${res.status}`}; is the controller installed in namespace "${flags.controllerNamespace}"? (or pass --cert)`);
}

async function fetchDirect(url: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new SealboxError('PROVIDER', `cannot reach the controller at ${url}`, { cause });
  }
  if (!res.ok) throw new SealboxError('PROVIDER', `controller at ${url} answered HTTP ${res.status}`);
  return res.text();
}

/**
 * Asks the controller to re-wrap one sealed resource to its newest key (or,
 * with `compact`, to seal all its values again under one new data key).
 * Returns the answered manifest as JSON text. Throws SealboxError with the
 * controller's reason when it refuses.
 */
export async function requestRewrap(flags: ClusterFlags, manifest: string, compact = false): Promise<string> {
  const { status, body } = await postToController(flags, compact ? '/v1/compact' : '/v1/rewrap', manifest);
  const verb = compact ? 'compact' : 're-wrap';
  if (status === 200) return body;
  if (status === 422) {
    const parsed = parseRefusal(body);
    throw new SealboxError(parsed.code, `the controller cannot ${verb}: ${parsed.error}`);
  }
  const reason = printable(body.split('\n')[0]?.replace(/^error: /, '') ?? '', 300);
  throw new SealboxError('PROVIDER', `the controller refused to ${verb} (HTTP ${status}): ${reason}`);
}

/**
 * POSTs `body` to the controller's `path` (through the API server's service
 * proxy, or --controller-url). The controller admits a few such requests per
 * client at a time (429 beyond): waits and tries again rather than fail a
 * run over many files. Resolves with the last status and body; throws
 * SealboxError('PROVIDER' | 'KUBE') when the controller cannot be reached.
 */
export async function postToController(flags: ClusterFlags, path: string, body: string): Promise<{ status: number; body: string }> {
  let answer = await postOnce(flags, path, body);
  for (let attempt = 1; answer.status === 429 && attempt <= 5; attempt++) {
    await new Promise((r) => setTimeout(r, 1000 * attempt));
    answer = await postOnce(flags, path, body);
  }
  return answer;
}

async function postOnce(flags: ClusterFlags, path: string, manifest: string): Promise<{ status: number; body: string }> {
  let status: number;
  let body: string;
  if (flags.controllerUrl !== undefined) {
    const url = `${controllerBase(flags.controllerUrl)}${path}`;
    try {
      const res = await fetch(url, { method: 'POST', body: manifest, headers: { 'content-type': 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(30_000) });
      status = res.status;
      body = await res.text();
    } catch (cause) {
      throw new SealboxError('PROVIDER', `cannot reach the controller at ${url}`, { cause });
    }
  } else {
    const api = await connect(flags);
    const service = `${flags.controllerName}:http`;
    ({ status, body } = await api.serviceProxy('POST', flags.controllerNamespace, service, path, manifest));
    const refusal = apiServerRefusal(status, body);
    if (refusal !== undefined) {
      const need = status === 401 ? 'check your kubeconfig\'s credentials' : `POST needs "create" on services/proxy "${service}" in namespace "${flags.controllerNamespace}" (deploy/rbac-users.yaml, Role sealbox-proxy)`;
      throw new SealboxError('KUBE', `the API server refused POST ${path} through the service proxy of ${flags.controllerNamespace}/${service} (HTTP ${String(status)}: ${refusal}); ${need}, or pass --controller-url with kubectl port-forward`);
    }
  }
  return { status, body };
}

/**
 * The API server's own message when a service-proxy answer is its refusal
 * (a Kubernetes Status, reason Unauthorized or Forbidden: the caller may not
 * use the proxy), not the controller's; undefined otherwise. The controller
 * never answers 401 or 403.
 */
export function apiServerRefusal(status: number, body: string): string | undefined {
  if (status !== 401 && status !== 403) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const s = typeof parsed === 'object' && parsed !== null ? (parsed as { kind?: unknown; reason?: unknown; message?: unknown }) : {};
  if (s.kind !== 'Status' || (s.reason !== 'Forbidden' && s.reason !== 'Unauthorized')) return undefined;
  return printable(typeof s.message === 'string' ? s.message : s.reason, 300);
}

/** A 422 body `{"error": …, "code": …}`; a code sealbox does not know (or a body that is not JSON) becomes PROVIDER. */
export function parseRefusal(body: string): { error: string; code: ErrorCode } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { error: printable(body, 300), code: 'PROVIDER' };
  }
  const o = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown; code?: unknown }) : {};
  const code = typeof o.code === 'string' && Object.hasOwn(EXIT_CODES, o.code) && o.code !== 'FINDINGS' ? (o.code as ErrorCode) : 'PROVIDER';
  return { error: printable(typeof o.error === 'string' ? o.error : '', 500), code };
}

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** True for localhost, 127.0.0.0/8 and ::1: a connection that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  // No trailing-dot form: `localhost.` is not in /etc/hosts and goes to DNS.
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || LOOPBACK_V4.test(h) || h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/**
 * Returns the `--controller-url` without a trailing slash. Throws
 * SealboxError('INPUT') for a URL that is not https, or http to a host other
 * than the loopback: anyone on the path could otherwise hand out their own
 * certificate, or alter what a re-wrap returns.
 */
export function controllerBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SealboxError('INPUT', `--controller-url ${printable(url, 100)} is not a URL; use e.g. http://127.0.0.1:8080 (kubectl port-forward) or https://HOST`);
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname))) return url.replace(/\/$/, '');
  if (u.protocol === 'http:') {
    throw new SealboxError('INPUT', `--controller-url ${printable(url, 100)}: plain http is allowed only to the loopback (localhost, 127.0.0.0/8, ::1); use https, or kubectl port-forward and http://127.0.0.1:PORT`);
  }
  throw new SealboxError('INPUT', `--controller-url ${printable(url, 100)}: use an http(s) URL`);
}
