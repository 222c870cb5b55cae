/**
 * The only module that imports @kubernetes/client-node. Everything else talks
 * to the API server through KubeApi, which rate-limits requests (QPS/burst),
 * counts them, and turns failures into SealboxError('KUBE') with the HTTP
 * status kept in `status`.
 */
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { SealboxError, truncate } from '../errors.js';

export type { V1ConfigMap, V1Lease, V1ObjectMeta, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
export type KubeObject = k8s.KubernetesObject;
export type KubeInformer<T extends k8s.KubernetesObject> = k8s.Informer<T> & k8s.ObjectCache<T>;

/** API group, version and plural of sealed resources. */
export const SEALED_GROUP = 'sealbox.dev';
export const SEALED_VERSION = 'v1';
export const SEALED_PLURAL = 'sealedsecrets';

/** A SealedSecret as the API server returns it. */
export interface SealedSecretObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: Record<string, unknown>;
}

/** A failed API request: HTTP status (0 when the server was not reached). */
export class KubeError extends SealboxError {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super('KUBE', message, options);
    this.status = status;
  }
}

/** True when `err` is a KubeError with the given HTTP status. */
export function isKubeStatus(err: unknown, status: number): boolean {
  return err instanceof KubeError && err.status === status;
}

/**
 * Loads a kubeconfig: the given file, else the in-cluster service account
 * when running in a pod, else the default ($KUBECONFIG, ~/.kube/config).
 */
export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file !== undefined && file !== '') kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** Returns the namespace of the kubeconfig's current context, or `default`. */
export function currentNamespace(kc: k8s.KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

/**
 * Token bucket: `qps` requests a second on average, bursts of `burst`.
 * Callers get tokens in the order they asked (FIFO), so a request never
 * waits behind more than the requests queued before it.
 */
class RateLimiter {
  #tokens: number;
  #last = Date.now();
  readonly #qps: number;
  readonly #burst: number;
  #tail: Promise<void> = Promise.resolve();
  constructor(qps: number, burst: number) {
    this.#qps = qps;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
  }
  take(): Promise<void> {
    const turn = this.#tail.then(() => this.#next());
    this.#tail = turn;
    return turn;
  }
  async #next(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) / this.#qps) * 1000)));
    }
  }
}

/** Options of KubeApi. */
export interface KubeApiOptions {
  readonly qps: number;
  readonly burst: number;
  /** Called once per request sent, for metrics. */
  readonly onRequest?: (verb: string, resource: string) => void;
  readonly fieldManager?: string;
}

function kubeErrorOf(err: unknown, what: string): KubeError {
  if (err instanceof k8s.ApiException) {
    const code = (err as k8s.ApiException<unknown>).code;
    const body = (err as k8s.ApiException<unknown>).body;
    let reason = '';
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') reason = parsed.message;
      } catch {
        // not JSON; keep the status only
      }
    } else if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
      reason = (body as { message: string }).message;
    }
    return new KubeError(code, `${what}: HTTP ${code}${reason === '' ? '' : `: ${truncate(reason, 300)}`}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KubeError(0, `${what}: API server unreachable (${truncate(message, 200)})`);
}

/** A string that identifies one TLS option (CA, certificate, key, ...) of an agent. */
function tlsOptionId(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(tlsOptionId).join('\u0001');
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return v === undefined ? '' : JSON.stringify(v);
}

/**
 * client-node 1.x gives every API call a new https.Agent, so every request
 * opened a new TLS connection: a handshake and CA parsing on both ends (at
 * 1,000 reconciles, most of the controller's CPU and much of the API
 * server's). This auth method applies the kubeconfig's credentials as before
 * and then swaps in one keep-alive agent per distinct TLS identity (normally
 * just one). Proxy agents are left alone.
 */
function keepAliveAuth(kc: k8s.KubeConfig): k8s.SecurityAuthentication {
  const agents = new Map<string, https.Agent>();
  return {
    getName: () => 'sealbox-keep-alive',
    async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const agent = context.getAgent();
      if (agent?.constructor !== https.Agent) return;
      const o = agent.options;
      const id = [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(tlsOptionId).join('\0');
      let shared = agents.get(id);
      if (shared === undefined) {
        shared = new https.Agent({ ...o, keepAlive: true });
        agents.set(id, shared);
      }
      context.setAgent(shared);
    },
  };
}

/** The API calls sealbox makes, rate-limited and counted. */
export class KubeApi {
  readonly kc: k8s.KubeConfig;
  readonly #core: k8s.CoreV1Api;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #coordination: k8s.CoordinationV1Api;
  readonly #limiter: RateLimiter;
  readonly #opts: KubeApiOptions;

  constructor(kc: k8s.KubeConfig, opts: KubeApiOptions) {
    this.kc = kc;
    const server = kc.getCurrentCluster()?.server;
    if (server === undefined) throw new KubeError(0, 'the kubeconfig has no current cluster');
    const config = k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(server, {}), authMethods: { default: keepAliveAuth(kc) } });
    this.#core = new k8s.CoreV1Api(config);
    this.#custom = new k8s.CustomObjectsApi(config);
    this.#coordination = new k8s.CoordinationV1Api(config);
    this.#limiter = new RateLimiter(opts.qps, opts.burst);
    this.#opts = opts;
  }

  async #call<T>(verb: string, resource: string, what: string, fn: () => Promise<T>): Promise<T> {
    await this.#limiter.take();
    this.#opts.onRequest?.(verb, resource);
    try {
      return await fn();
    } catch (err) {
      throw kubeErrorOf(err, what);
    }
  }

  /** A GET that returns undefined for 404. */
  async #find<T>(resource: string, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.#call('get', resource, what, fn);
    } catch (err) {
      if (isKubeStatus(err, 404)) return undefined;
      throw err;
    }
  }

  get #fieldManager(): string {
    return this.#opts.fieldManager ?? 'sealbox-controller';
  }

  /** Returns the Secret, or undefined when it does not exist. */
  async getSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
    return this.#find('secrets', `get secret ${namespace}/${name}`, () => this.#core.readNamespacedSecret({ name, namespace }));
  }

  /** Lists Secrets of a namespace matching a label selector. */
  async listSecrets(namespace: string, labelSelector: string): Promise<k8s.V1Secret[]> {
    const list = await this.#call('list', 'secrets', `list secrets in ${namespace}`, () =>
      this.#core.listNamespacedSecret({ namespace, labelSelector }),
    );
    return list.items;
  }

  async createSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    const ns = secret.metadata?.namespace ?? '';
    return this.#call('create', 'secrets', `create secret ${ns}/${secret.metadata?.name ?? ''}`, () =>
      this.#core.createNamespacedSecret({ namespace: ns, body: secret, fieldManager: this.#fieldManager }),
    );
  }

  /** Replaces a Secret; its resourceVersion makes the write conditional (409 on conflict). */
  async replaceSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    const ns = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    return this.#call('update', 'secrets', `update secret ${ns}/${name}`, () =>
      this.#core.replaceNamespacedSecret({ name, namespace: ns, body: secret, fieldManager: this.#fieldManager }),
    );
  }

  /** Deletes a Secret only if it still has `uid` (precondition). */
  async deleteSecret(namespace: string, name: string, uid: string): Promise<void> {
    await this.#call('delete', 'secrets', `delete secret ${namespace}/${name}`, () =>
      this.#core.deleteNamespacedSecret({ name, namespace, body: { preconditions: { uid } } }),
    );
  }

  /** Merge-patches the status subresource of a sealed resource. */
  async patchSealedStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.#call('patch', 'sealedsecrets/status', `update status of sealed secret ${namespace}/${name}`, () =>
      this.#custom.patchNamespacedCustomObjectStatus(
        { group: SEALED_GROUP, version: SEALED_VERSION, namespace, plural: SEALED_PLURAL, name, body: { status }, fieldManager: this.#fieldManager },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
  }

  /** Records a core/v1 Event. */
  async createEvent(event: k8s.CoreV1Event): Promise<void> {
    const ns = event.metadata.namespace ?? 'default';
    await this.#call('create', 'events', `record event in ${ns}`, () => this.#core.createNamespacedEvent({ namespace: ns, body: event }));
  }

  async getLease(namespace: string, name: string): Promise<k8s.V1Lease | undefined> {
    return this.#find('leases', `get lease ${namespace}/${name}`, () => this.#coordination.readNamespacedLease({ name, namespace }));
  }

  async createLease(lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    const ns = lease.metadata?.namespace ?? '';
    return this.#call('create', 'leases', `create lease ${ns}/${lease.metadata?.name ?? ''}`, () =>
      this.#coordination.createNamespacedLease({ namespace: ns, body: lease }),
    );
  }

  async replaceLease(lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    const ns = lease.metadata?.namespace ?? '';
    const name = lease.metadata?.name ?? '';
    return this.#call('update', 'leases', `update lease ${ns}/${name}`, () =>
      this.#coordination.replaceNamespacedLease({ name, namespace: ns, body: lease }),
    );
  }

  async getConfigMap(namespace: string, name: string): Promise<k8s.V1ConfigMap | undefined> {
    return this.#find('configmaps', `get configmap ${namespace}/${name}`, () => this.#core.readNamespacedConfigMap({ name, namespace }));
  }

  async createConfigMap(cm: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    const ns = cm.metadata?.namespace ?? '';
    return this.#call('create', 'configmaps', `create configmap ${ns}/${cm.metadata?.name ?? ''}`, () =>
      this.#core.createNamespacedConfigMap({ namespace: ns, body: cm, fieldManager: this.#fieldManager }),
    );
  }

  async replaceConfigMap(cm: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    const ns = cm.metadata?.namespace ?? '';
    const name = cm.metadata?.name ?? '';
    return this.#call('update', 'configmaps', `update configmap ${ns}/${name}`, () =>
      this.#core.replaceNamespacedConfigMap({ name, namespace: ns, body: cm, fieldManager: this.#fieldManager }),
    );
  }

  /**
   * Sends a request through the API server's service proxy
   * (`/api/v1/namespaces/NS/services/SERVICE/proxy/PATH`) and returns the
   * status and body. Throws KubeError when the API server is unreachable.
   */
  async serviceProxy(method: 'GET' | 'POST', namespace: string, service: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    const cluster = this.kc.getCurrentCluster();
    if (cluster === null) throw new KubeError(0, 'the kubeconfig has no current cluster');
    const url = new URL(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(service)}/proxy${path}`, cluster.server);
    return this.#call(method.toLowerCase(), 'services/proxy', `${method} ${path} through service ${namespace}/${service}`, async () => {
      const opts: https.RequestOptions = { method, headers: body === undefined ? {} : { 'content-type': 'application/yaml' } };
      await this.kc.applyToHTTPSOptions(opts);
      return new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(url, opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        });
        req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end(body);
      });
    });
  }

  /** Merge-patches a ConfigMap's annotations. */
  async annotateConfigMap(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    await this.#call('patch', 'configmaps', `annotate configmap ${namespace}/${name}`, () =>
      this.#core.patchNamespacedConfigMap({ name, namespace, body: { metadata: { annotations } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)),
    );
  }

  /** An informer (list + watch + cache) of sealed resources, cluster-wide or in one namespace. */
  sealedInformer(namespace?: string): KubeInformer<SealedSecretObject> {
    const path = namespace === undefined
      ? `/apis/${SEALED_GROUP}/${SEALED_VERSION}/${SEALED_PLURAL}`
      : `/apis/${SEALED_GROUP}/${SEALED_VERSION}/namespaces/${namespace}/${SEALED_PLURAL}`;
    const list = async (): Promise<k8s.KubernetesListObject<SealedSecretObject>> => {
      this.#opts.onRequest?.('list', 'sealedsecrets');
      const res: unknown = namespace === undefined
        ? await this.#custom.listClusterCustomObject({ group: SEALED_GROUP, version: SEALED_VERSION, plural: SEALED_PLURAL })
        : await this.#custom.listNamespacedCustomObject({ group: SEALED_GROUP, version: SEALED_VERSION, namespace, plural: SEALED_PLURAL });
      return res as k8s.KubernetesListObject<SealedSecretObject>;
    };
    return trimmed(k8s.makeInformer(this.kc, path, list), true);
  }

  /**
   * An informer of Secrets with a label selector, cluster-wide or in one
   * namespace, whose cache holds `keep(secret)` instead of each Secret. The
   * initial list comes in pages of SECRET_PAGE, each turned into cache
   * entries before the next is fetched, so a namespace full of large
   * Secrets costs one page of memory at a time, not the whole list. By
   * default the cache keeps whole Secrets without their managedFields.
   */
  secretInformer(labelSelector: string, namespace?: string, keep: (s: k8s.V1Secret) => k8s.V1Secret = withoutManagedFields): KubeInformer<k8s.V1Secret> {
    const path = namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${namespace}/secrets`;
    const page = (cont: string | undefined): Promise<k8s.V1SecretList> => {
      this.#opts.onRequest?.('list', 'secrets');
      const q = { labelSelector, limit: SECRET_PAGE, ...(cont === undefined ? {} : { _continue: cont }) };
      return namespace === undefined ? this.#core.listSecretForAllNamespaces(q) : this.#core.listNamespacedSecret({ namespace, ...q });
    };
    const list = async (): Promise<k8s.KubernetesListObject<k8s.V1Secret>> => {
      const items: k8s.V1Secret[] = [];
      let first: k8s.V1SecretList | undefined;
      let cont: string | undefined;
      do {
        const p = await page(cont);
        first ??= p;
        for (const s of p.items) items.push(keep(s));
        cont = p.metadata?._continue;
        p.items = [];
      } while (cont !== undefined && cont !== '');
      return { apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: first.metadata?.resourceVersion }, items };
    };
    const informer = k8s.makeInformer(this.kc, path, list, labelSelector);
    // Watch events carry whole Secrets: turn each into its entry as it lands
    // in the cache, before any other callback runs.
    informer.on('add', (s) => { keep(s); });
    informer.on('update', (s) => { keep(s); });
    return informer;
  }
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Drops managedFields (often a third of a small object), which sealbox never reads. */
function withoutManagedFields(s: k8s.V1Secret): k8s.V1Secret {
  if (s.metadata !== undefined) delete s.metadata.managedFields;
  return s;
}
/**
 * Secrets per page of the initial list. A Secret holds up to 1 MiB, so a
 * page may be ~14 MB of JSON at worst: well inside deploy/'s heap, which a
 * whole list of 120 such Secrets was not (issue 11, item 6b).
 */
export const SECRET_PAGE = 10;

/**
 * Makes an informer drop from its cached objects what the controller never
 * reads: managedFields (often a third of a small object) and, for sealed
 * resources, which sealbox never writes back, kubectl's last-applied copy of
 * the whole object. The cache holds the very object its callbacks receive,
 * so the first callbacks trim it in place. A Secret's update never sends
 * managedFields, and the API server keeps them when an update leaves them out.
 */
function trimmed<T extends k8s.KubernetesObject>(informer: KubeInformer<T>, dropLastApplied: boolean): KubeInformer<T> {
  const trim = (obj: T): void => {
    const meta = obj.metadata;
    if (meta === undefined) return;
    delete meta.managedFields;
    if (dropLastApplied && meta.annotations?.[LAST_APPLIED] !== undefined) {
      const { [LAST_APPLIED]: _dropped, ...rest } = meta.annotations;
      meta.annotations = rest;
    }
  };
  informer.on('add', trim);
  informer.on('update', trim);
  return informer;
}

/** Returns a V1MicroTime for Lease fields (the API server wants 6 fractional digits). */
export function microTime(d: Date): Date {
  return new k8s.V1MicroTime(d.getTime());
}
