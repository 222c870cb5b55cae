// Writes to one Secret, seen through a watch from a known resourceVersion
// (every write is one event, none is missed between polls), and a hand edit
// of one value as a user with kubectl would make it.
import * as k8s from '@kubernetes/client-node';
import { kubeConfig } from '../cluster/helpers.js';

/** The watch events of one Secret since a resourceVersion. */
export class SecretWrites {
  readonly #seen: string[] = [];
  #abort: AbortController | undefined;

  private constructor() {}

  /** Starts watching Secret `namespace/name` from `resourceVersion`. */
  static async start(namespace: string, name: string, resourceVersion: string): Promise<SecretWrites> {
    const w = new SecretWrites();
    const watch = new k8s.Watch(kubeConfig());
    w.#abort = await watch.watch(`/api/v1/namespaces/${namespace}/secrets`, { fieldSelector: `metadata.name=${name}`, resourceVersion, allowWatchBookmarks: false },
      (type: string) => { w.#seen.push(type); },
      () => undefined);
    return w;
  }

  /** The event types so far (ADDED, MODIFIED, DELETED). */
  events(): string[] {
    return [...this.#seen];
  }

  stop(): void {
    this.#abort?.abort();
  }
}

/** Replaces one value of a Secret, as `kubectl edit` would. */
export async function patchSecretValue(namespace: string, name: string, key: string, value: string): Promise<void> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const body = { data: { [key]: Buffer.from(value).toString('base64') } };
  await core.patchNamespacedSecret({ namespace, name, body }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
}
