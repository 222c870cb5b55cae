/**
 * The typed API calls sealbox makes. src/kube is the only layer that imports
 * @kubernetes/client-node. Every call is rate-limited (QPS/burst), counted,
 * and turns failures into KubeError (SealboxError('KUBE')) with the HTTP
 * status kept in `status`.
 */
import * as k8s from '@kubernetes/client-node';
import { clientConfiguration, clusterServer } from './config.js';
import { isKubeStatus, kubeErrorOf } from './errors.js';
import type { InformerClients, InformerHooks } from './informers.js';
import { BITNAMI_PAGE, sealedInformer, secretInformer, trimSealed, withoutManagedFields } from './informers.js';
import { BITNAMI_RESOURCE, SEALED_GROUP, SEALED_PLURAL, SEALED_VERSION } from './names.js';
import type { ProxyResponse } from './proxy.js';
import { sendThroughServiceProxy } from './proxy.js';
import { TokenBucket } from './token-bucket.js';
import { AgentPool, JsonTransport } from './transport.js';
import type { KubeInformer, SealedSecretObject } from './types.js';

/** Options of KubeApi. */
export interface KubeApiOptions {
  readonly qps: number;
  readonly burst: number;
  /** Called once per request sent, for metrics. */
  readonly onRequest?: (verb: string, resource: string) => void;
  /**
   * Called when an informer's list starts again because a resourceVersion or
   * continue token expired (410), with the resource and the namespace
   * (undefined: all), for logs and metrics.
   */
  readonly onExpired?: (resource: string, namespace: string | undefined) => void;
  readonly fieldManager?: string;
}

/**
 * The Secret and status calls the reconciler makes. KubeApi implements it
 * against the API server; a unit test may implement it in memory. Every
 * method fails with KubeError, whose `status` is the HTTP status (404: not
 * found, 409: already exists or conflict).
 */
export interface SecretApi {
  /** Returns the Secret, or undefined when it does not exist. */
  getSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined>;
  /** Creates a Secret and returns it as created; KubeError 409 when one of that name exists. */
  createSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret>;
  /** Replaces a Secret and returns it as stored; KubeError 409 when its resourceVersion is not the current one. */
  replaceSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret>;
  /** Deletes a Secret; KubeError 409 when it no longer has `uid`, 404 when it is gone. */
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>;
  /** Returns the whole sealed resource, or undefined when it does not exist. */
  getSealed(namespace: string, name: string): Promise<SealedSecretObject | undefined>;
  /** Merge-patches the status subresource of a sealed resource; KubeError 404 when it is gone. */
  patchSealedStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void>;
}

/** The API calls sealbox makes, rate-limited and counted. */
export class KubeApi implements SecretApi {
  readonly kc: k8s.KubeConfig;
  readonly #core: k8s.CoreV1Api;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #coordination: k8s.CoordinationV1Api;
  readonly #limiter: TokenBucket;
  readonly #opts: KubeApiOptions;
  /** The hot writes, without client-node's serializer (transport.ts). */
  readonly #json: JsonTransport;

  /** Throws KubeError when the kubeconfig has no current cluster. */
  constructor(kc: k8s.KubeConfig, opts: KubeApiOptions) {
    this.kc = kc;
    const agents = new AgentPool();
    const config = clientConfiguration(kc, agents);
    this.#json = new JsonTransport(kc, clusterServer(kc), agents);
    this.#core = new k8s.CoreV1Api(config);
    this.#custom = new k8s.CustomObjectsApi(config);
    this.#coordination = new k8s.CoordinationV1Api(config);
    // A burst under 1 would never let a request through.
    this.#limiter = new TokenBucket(opts.qps, Math.max(1, opts.burst));
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

  /** The query that names sealbox as the field manager of a write. */
  get #managerQuery(): string {
    return `fieldManager=${encodeURIComponent(this.#fieldManager)}`;
  }

  /**
   * Creates a Secret and returns it as the API server stored it, JSON-decoded
   * (timestamps stay RFC 3339 strings); KubeError 409 when one of that name exists.
   */
  async createSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    const ns = secret.metadata?.namespace ?? '';
    const text = await this.#call('create', 'secrets', `create secret ${ns}/${secret.metadata?.name ?? ''}`, () =>
      this.#json.send('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets?${this.#managerQuery}`, secret),
    );
    return JSON.parse(text) as k8s.V1Secret;
  }

  /**
   * Replaces a Secret and returns it as stored (JSON-decoded, as createSecret);
   * its resourceVersion makes the write conditional (409 on conflict).
   */
  async replaceSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    const ns = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    const text = await this.#call('update', 'secrets', `update secret ${ns}/${name}`, () =>
      this.#json.send('PUT', `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}?${this.#managerQuery}`, secret),
    );
    return JSON.parse(text) as k8s.V1Secret;
  }

  /** Deletes a Secret only if it still has `uid` (precondition). */
  async deleteSecret(namespace: string, name: string, uid: string): Promise<void> {
    await this.#call('delete', 'secrets', `delete secret ${namespace}/${name}`, () =>
      this.#core.deleteNamespacedSecret({ name, namespace, body: { preconditions: { uid } } }),
    );
  }

  /** Returns the whole sealed resource, or undefined when it does not exist (the informer cache keeps summaries only). */
  async getSealed(namespace: string, name: string): Promise<SealedSecretObject | undefined> {
    const path = `/apis/${SEALED_GROUP}/${SEALED_VERSION}/namespaces/${encodeURIComponent(namespace)}/${SEALED_PLURAL}/${encodeURIComponent(name)}`;
    return this.#find('sealedsecrets', `get sealed secret ${namespace}/${name}`, async () => JSON.parse(await this.#json.get(path)) as SealedSecretObject);
  }

  /** Merge-patches the status subresource of a sealed resource. */
  async patchSealedStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    const path = `/apis/${SEALED_GROUP}/${SEALED_VERSION}/namespaces/${encodeURIComponent(namespace)}/${SEALED_PLURAL}/${encodeURIComponent(name)}/status?${this.#managerQuery}`;
    await this.#call('patch', 'sealedsecrets/status', `update status of sealed secret ${namespace}/${name}`, () =>
      this.#json.send('PATCH', path, { status }, 'application/merge-patch+json', 'none'),
    );
  }

  /** Returns a whole Sealed Secrets SealedSecret (compatibility mode), or undefined when it does not exist (the informer cache keeps summaries only). */
  async getBitnami(namespace: string, name: string): Promise<SealedSecretObject | undefined> {
    const { group, version, plural } = BITNAMI_RESOURCE;
    return this.#find(`${plural}.${group}`, `get sealedsecret ${namespace}/${name}`, async () =>
      (await this.#custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as SealedSecretObject,
    );
  }

  /** Merge-patches the status subresource of a Sealed Secrets SealedSecret (compatibility mode); KubeError 404 when it is gone. */
  async patchBitnamiStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    const { group, version, plural } = BITNAMI_RESOURCE;
    const path = `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}/status?${this.#managerQuery}`;
    await this.#call('patch', `${plural}.${group}/status`, `update status of sealedsecret ${namespace}/${name}`, () =>
      this.#json.send('PATCH', path, { status }, 'application/merge-patch+json'),
    );
  }

  /** Records a core/v1 Event. */
  async createEvent(event: k8s.CoreV1Event): Promise<void> {
    const ns = event.metadata.namespace ?? 'default';
    await this.#call('create', 'events', `record event in ${ns}`, () => this.#json.send('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, event, 'application/json', 'none'));
  }

  /** Returns the Lease, or undefined when it does not exist. */
  async getLease(namespace: string, name: string): Promise<k8s.V1Lease | undefined> {
    return this.#find('leases', `get lease ${namespace}/${name}`, () => this.#coordination.readNamespacedLease({ name, namespace }));
  }

  /** Creates a Lease; KubeError 409 when one of that name exists. */
  async createLease(lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    const ns = lease.metadata?.namespace ?? '';
    return this.#call('create', 'leases', `create lease ${ns}/${lease.metadata?.name ?? ''}`, () =>
      this.#coordination.createNamespacedLease({ namespace: ns, body: lease }),
    );
  }

  /** Replaces a Lease; its resourceVersion makes the write conditional (409 on conflict). */
  async replaceLease(lease: k8s.V1Lease): Promise<k8s.V1Lease> {
    const ns = lease.metadata?.namespace ?? '';
    const name = lease.metadata?.name ?? '';
    return this.#call('update', 'leases', `update lease ${ns}/${name}`, () =>
      this.#coordination.replaceNamespacedLease({ name, namespace: ns, body: lease }),
    );
  }

  /** Returns the ConfigMap, or undefined when it does not exist. */
  async getConfigMap(namespace: string, name: string): Promise<k8s.V1ConfigMap | undefined> {
    return this.#find('configmaps', `get configmap ${namespace}/${name}`, () => this.#core.readNamespacedConfigMap({ name, namespace }));
  }

  /** Creates a ConfigMap; KubeError 409 when one of that name exists. */
  async createConfigMap(cm: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    const ns = cm.metadata?.namespace ?? '';
    return this.#call('create', 'configmaps', `create configmap ${ns}/${cm.metadata?.name ?? ''}`, () =>
      this.#core.createNamespacedConfigMap({ namespace: ns, body: cm, fieldManager: this.#fieldManager }),
    );
  }

  /** Replaces a ConfigMap; its resourceVersion makes the write conditional (409 on conflict). */
  async replaceConfigMap(cm: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    const ns = cm.metadata?.namespace ?? '';
    const name = cm.metadata?.name ?? '';
    return this.#call('update', 'configmaps', `update configmap ${ns}/${name}`, () =>
      this.#core.replaceNamespacedConfigMap({ name, namespace: ns, body: cm, fieldManager: this.#fieldManager }),
    );
  }

  /** Merge-patches a ConfigMap's annotations. */
  async annotateConfigMap(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    await this.#call('patch', 'configmaps', `annotate configmap ${namespace}/${name}`, () =>
      this.#core.patchNamespacedConfigMap({ name, namespace, body: { metadata: { annotations } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)),
    );
  }

  /**
   * Sends a request through the API server's service proxy
   * (`/api/v1/namespaces/NS/services/SERVICE/proxy/PATH`) and returns the
   * status and body; a body goes as `contentType`. Throws KubeError when the
   * API server is unreachable.
   */
  async serviceProxy(method: 'GET' | 'POST', namespace: string, service: string, path: string, body?: string, contentType = 'application/json'): Promise<ProxyResponse> {
    return this.#call(method.toLowerCase(), 'services/proxy', `${method} ${path} through service ${namespace}/${service}`, () =>
      sendThroughServiceProxy(this.kc, { method, namespace, service, path, ...(body === undefined ? {} : { body, contentType }) }),
    );
  }

  /**
   * An informer (list + watch + cache, src/kube/list-watch.ts) of sealed
   * resources, cluster-wide or in one namespace. Its cache holds
   * `keep(sealed)`; without `keep`, the object less managedFields and
   * kubectl's last-applied annotation (trimSealed).
   */
  sealedInformer(namespace?: string): KubeInformer<SealedSecretObject>;
  sealedInformer<C>(namespace: string | undefined, keep: (s: SealedSecretObject, old: C | undefined) => C, hooks?: InformerHooks<SealedSecretObject>): KubeInformer<C>;
  sealedInformer(namespace?: string, keep?: (s: SealedSecretObject, old: unknown) => unknown, hooks?: InformerHooks<SealedSecretObject>): KubeInformer<unknown> {
    return sealedInformer(this.kc, this.#informerClients(), namespace, keep ?? trimSealed, hooks);
  }

  /**
   * An informer of Secrets with a label selector, cluster-wide or in one
   * namespace. Its cache holds `keep(secret)`; without `keep`, the Secret
   * less managedFields (withoutManagedFields).
   */
  secretInformer(labelSelector: string, namespace?: string): KubeInformer<k8s.V1Secret>;
  secretInformer<C>(labelSelector: string, namespace: string | undefined, keep: (s: k8s.V1Secret, old: C | undefined) => C, hooks?: InformerHooks<k8s.V1Secret>): KubeInformer<C>;
  secretInformer(labelSelector: string, namespace?: string, keep?: (s: k8s.V1Secret, old: unknown) => unknown, hooks?: InformerHooks<k8s.V1Secret>): KubeInformer<unknown> {
    return secretInformer(this.kc, this.#informerClients(), labelSelector, namespace, keep ?? withoutManagedFields, hooks);
  }

  /**
   * An informer of Sealed Secrets' SealedSecrets (compatibility mode), as
   * sealedInformer, whose cache holds `keep(sealed)`; its pages are
   * BITNAMI_PAGE objects, as a SealedSecret may hold a Secret's worth of
   * ciphertext and more.
   */
  bitnamiInformer<C>(namespace: string | undefined, keep: (s: SealedSecretObject, old: C | undefined) => C, hooks: InformerHooks<SealedSecretObject> = {}): KubeInformer<C> {
    return sealedInformer(this.kc, this.#informerClients(), namespace, keep, hooks, BITNAMI_RESOURCE, BITNAMI_PAGE);
  }

  #informerClients(): InformerClients {
    const { onRequest, onExpired } = this.#opts;
    return { core: this.#core, custom: this.#custom, ...(onRequest === undefined ? {} : { onRequest }), ...(onExpired === undefined ? {} : { onExpired }) };
  }
}

/** Returns a V1MicroTime for Lease fields (the API server wants 6 fractional digits). */
export function microTime(d: Date): Date {
  return new k8s.V1MicroTime(d.getTime());
}
