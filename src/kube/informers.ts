/**
 * Informers (list + watch + cache, src/kube/list-watch.ts) of sealed
 * resources and Secrets. Each caches what its `keep` function returns: by
 * default the object without what sealbox never reads.
 */
import type * as k8s from '@kubernetes/client-node';
import { kubeErrorOf } from './errors.js';
import type { ListWatchOptions } from './list-watch.js';
import { ListWatch } from './list-watch.js';
import type { ListPage } from './pager.js';
import type { CustomResource } from './names.js';
import { SEALED_RESOURCE } from './names.js';
import type { KubeInformer, SealedSecretObject } from './types.js';

/**
 * Secrets per page when the initial list comes in pages. A Secret holds up
 * to 1 MiB, so a page may be ~14 MB of JSON at worst: well inside deploy/'s
 * heap, which a whole list of 120 such Secrets was not (issue 11, item 6b).
 */
export const SECRET_PAGE = 10;

/**
 * Sealed resources per page, as client-go's pager. A sealed resource is at
 * most a Secret's size in ciphertext, but typically a few kB: a page of 500
 * is a few MB of JSON.
 */
export const SEALED_PAGE = 500;

/**
 * Sealed Secrets' SealedSecrets per page (compatibility mode): each value is
 * an RSA ciphertext and more, so one may be 1.4 MB, and a tenant may make
 * many such; pages of SEALED_PAGE of them were 700 MB (docs/SECURITY.md 1a.8).
 */
export const BITNAMI_PAGE = SECRET_PAGE;

/** A list as JSON. */
interface RawList { items: SealedSecretObject[]; metadata?: { resourceVersion?: string; continue?: string } }

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What an informer needs besides the kubeconfig: the API clients and the request counter. */
export interface InformerClients {
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  /** Called once per request (a list page, a watch), for metrics. */
  readonly onRequest?: (verb: string, resource: string) => void;
  /** Called when a list starts again after a 410 (expired resourceVersion or continue token), for logs and metrics. */
  readonly onExpired?: (resource: string, namespace: string | undefined) => void;
}

/** Optional hooks of an informer; see ListWatchOptions. */
export type InformerHooks<F> = Pick<ListWatchOptions<F, unknown>, 'onListed' | 'onExpired' | 'stream'>;

function options<F, C>(c: InformerClients, keep: (obj: F, old: C | undefined) => C, hooks: InformerHooks<F>, source: { resource: string; namespace?: string }): ListWatchOptions<F, C> {
  const { onExpired } = c;
  const expired = onExpired === undefined ? hooks.onExpired : (): void => { hooks.onExpired?.(); onExpired(source.resource, source.namespace); };
  return { ...hooks, keep, ...(c.onRequest === undefined ? {} : { onRequest: c.onRequest }), ...(expired === undefined ? {} : { onExpired: expired }) };
}

/**
 * An informer of sealed resources, cluster-wide or in one namespace, whose
 * cache holds `keep(sealed)`; a paged initial list comes `pageSize` at a time.
 */
export function sealedInformer<C>(
  kc: k8s.KubeConfig,
  c: InformerClients,
  namespace: string | undefined,
  keep: (s: SealedSecretObject, old: C | undefined) => C,
  hooks: InformerHooks<SealedSecretObject> = {},
  resource: CustomResource = SEALED_RESOURCE,
  pageSize = SEALED_PAGE,
): KubeInformer<C> {
  const { group, version, plural } = resource;
  const base = `/apis/${group}/${version}`;
  const where = namespace === undefined ? 'all namespaces' : namespace;
  const listPage = async (limit: number, cont: string | undefined): Promise<ListPage<SealedSecretObject>> => {
    const q = { group, version, plural, limit, ...(cont === undefined ? {} : { _continue: cont }) };
    try {
      const res = (namespace === undefined ? await c.custom.listClusterCustomObject(q) : await c.custom.listNamespacedCustomObject({ ...q, namespace })) as RawList;
      // the custom objects client returns the JSON as is: `continue`, not the typed clients' `_continue`
      return { items: res.items, metadata: { resourceVersion: res.metadata?.resourceVersion, _continue: res.metadata?.continue } };
    } catch (err) {
      throw kubeErrorOf(err, `list ${plural}.${group} in ${where}`);
    }
  };
  const source = {
    resource: plural,
    path: namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${namespace}/${plural}`,
    pageSize,
    listPage,
    ...(namespace === undefined ? {} : { namespace }),
  };
  return new ListWatch(kc, source, options(c, keep, hooks, source));
}

/**
 * An informer of Secrets with a label selector, cluster-wide or in one
 * namespace, whose cache holds `keep(secret)`. A paged initial list comes
 * SECRET_PAGE at a time.
 */
export function secretInformer<C>(
  kc: k8s.KubeConfig,
  c: InformerClients,
  labelSelector: string,
  namespace: string | undefined,
  keep: (s: k8s.V1Secret, old: C | undefined) => C,
  hooks: InformerHooks<k8s.V1Secret> = {},
): KubeInformer<C> {
  const where = namespace === undefined ? 'all namespaces' : namespace;
  const listPage = async (limit: number, cont: string | undefined): Promise<ListPage<k8s.V1Secret>> => {
    const q = { labelSelector, limit, ...(cont === undefined ? {} : { _continue: cont }) };
    try {
      return namespace === undefined ? await c.core.listSecretForAllNamespaces(q) : await c.core.listNamespacedSecret({ namespace, ...q });
    } catch (err) {
      throw kubeErrorOf(err, `list secrets in ${where}`);
    }
  };
  const source = {
    resource: 'secrets',
    path: namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${namespace}/secrets`,
    labelSelector,
    pageSize: SECRET_PAGE,
    listPage,
    ...(namespace === undefined ? {} : { namespace }),
  };
  return new ListWatch(kc, source, options(c, keep, hooks, source));
}

/** The default entry of a Secret: the Secret without managedFields (often a third of a small object), which sealbox never reads. */
export function withoutManagedFields(s: k8s.V1Secret): k8s.V1Secret {
  if (s.metadata !== undefined) delete s.metadata.managedFields;
  return s;
}

/**
 * The default entry of a sealed resource: the object without managedFields
 * and kubectl's last-applied copy of the whole object, which sealbox never
 * reads (it never writes a sealed resource back).
 */
export function trimSealed(s: SealedSecretObject): SealedSecretObject {
  const meta = s.metadata;
  if (meta === undefined) return s;
  delete meta.managedFields;
  if (meta.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _dropped, ...rest } = meta.annotations;
    meta.annotations = rest;
  }
  return s;
}
