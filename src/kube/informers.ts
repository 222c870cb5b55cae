/**
 * Informers (list + watch + cache) of sealed resources and Secrets, trimmed
 * to what the controller reads so the caches stay small.
 */
import * as k8s from '@kubernetes/client-node';
import { SEALED_GROUP, SEALED_PLURAL, SEALED_VERSION } from './names.js';
import type { KubeInformer, SealedSecretObject } from './types.js';

/**
 * Secrets per page of the initial list. A Secret holds up to 1 MiB, so a
 * page may be ~14 MB of JSON at worst: well inside deploy/'s heap, which a
 * whole list of 120 such Secrets was not (issue 11, item 6b).
 */
export const SECRET_PAGE = 10;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What an informer needs besides the kubeconfig: the API clients and the request counter. */
export interface InformerClients {
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  /** Called once per list request, for metrics. */
  readonly onRequest?: (verb: string, resource: string) => void;
}

/** An informer of sealed resources, cluster-wide or in one namespace. */
export function sealedInformer(kc: k8s.KubeConfig, c: InformerClients, namespace?: string): KubeInformer<SealedSecretObject> {
  const path = namespace === undefined
    ? `/apis/${SEALED_GROUP}/${SEALED_VERSION}/${SEALED_PLURAL}`
    : `/apis/${SEALED_GROUP}/${SEALED_VERSION}/namespaces/${namespace}/${SEALED_PLURAL}`;
  const list = async (): Promise<k8s.KubernetesListObject<SealedSecretObject>> => {
    c.onRequest?.('list', 'sealedsecrets');
    const res: unknown = namespace === undefined
      ? await c.custom.listClusterCustomObject({ group: SEALED_GROUP, version: SEALED_VERSION, plural: SEALED_PLURAL })
      : await c.custom.listNamespacedCustomObject({ group: SEALED_GROUP, version: SEALED_VERSION, namespace, plural: SEALED_PLURAL });
    return res as k8s.KubernetesListObject<SealedSecretObject>;
  };
  return trimmed(k8s.makeInformer(kc, path, list), true);
}

/**
 * An informer of Secrets with a label selector, cluster-wide or in one
 * namespace, whose cache holds `keep(secret)` instead of each Secret. The
 * initial list comes in pages of SECRET_PAGE, each turned into cache
 * entries before the next is fetched, so a namespace full of large
 * Secrets costs one page of memory at a time, not the whole list. By
 * default the cache keeps whole Secrets without their managedFields.
 */
export function secretInformer(
  kc: k8s.KubeConfig,
  c: InformerClients,
  labelSelector: string,
  namespace?: string,
  keep: (s: k8s.V1Secret) => k8s.V1Secret = withoutManagedFields,
): KubeInformer<k8s.V1Secret> {
  const path = namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${namespace}/secrets`;
  const page = (cont: string | undefined): Promise<k8s.V1SecretList> => {
    c.onRequest?.('list', 'secrets');
    const q = { labelSelector, limit: SECRET_PAGE, ...(cont === undefined ? {} : { _continue: cont }) };
    return namespace === undefined ? c.core.listSecretForAllNamespaces(q) : c.core.listNamespacedSecret({ namespace, ...q });
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
  const informer = k8s.makeInformer(kc, path, list, labelSelector);
  // Watch events carry whole Secrets: turn each into its entry as it lands
  // in the cache, before any other callback runs.
  informer.on('add', (s) => { keep(s); });
  informer.on('update', (s) => { keep(s); });
  return informer;
}

/** Drops managedFields (often a third of a small object), which sealbox never reads. */
function withoutManagedFields(s: k8s.V1Secret): k8s.V1Secret {
  if (s.metadata !== undefined) delete s.metadata.managedFields;
  return s;
}

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
