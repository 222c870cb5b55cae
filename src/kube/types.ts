/** The Kubernetes object types sealbox uses, without loading the client at run time. */
import type * as k8s from '@kubernetes/client-node';

export type { V1ConfigMap, V1Lease, V1ObjectMeta, V1OwnerReference, V1Secret, CoreV1Event } from '@kubernetes/client-node';
/** Any Kubernetes object (apiVersion, kind, metadata). */
export type KubeObject = k8s.KubernetesObject;
/**
 * An informer (list + watch) together with its cache of `T`, the form its
 * `keep` function gives each object (src/kube/list-watch.ts).
 */
export interface KubeInformer<T> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  /** Lists, then watches; resolves once the list is cached or failed (reported through 'error'); rejects only when credentials cannot be had. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

/** A SealedSecret as the API server returns it. */
export interface SealedSecretObject extends k8s.KubernetesObject {
  spec?: unknown;
  status?: Record<string, unknown>;
}
