/** The Kubernetes object types sealbox uses, without loading the client at run time. */
import type * as k8s from '@kubernetes/client-node';

export type { V1ConfigMap, V1Lease, V1ObjectMeta, V1OwnerReference, V1Secret, CoreV1Event } from '@kubernetes/client-node';
/** Any Kubernetes object (apiVersion, kind, metadata). */
export type KubeObject = k8s.KubernetesObject;
/** An informer together with its cache. */
export type KubeInformer<T extends k8s.KubernetesObject> = k8s.Informer<T> & k8s.ObjectCache<T>;

/** A SealedSecret as the API server returns it. */
export interface SealedSecretObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: Record<string, unknown>;
}
