/**
 * An in-memory SecretApi for reconciler unit tests: Secrets and sealed
 * resources in maps, with
 * the API server's rules the reconciler relies on (409 when a created Secret
 * exists or a replace carries a stale resourceVersion, 404 for a missing
 * one, the uid precondition of a delete), failing with KubeError as KubeApi
 * does. The real API server is exercised by test/integration/controller-*.
 */
import { randomUUID } from 'node:crypto';
import type { SecretApi } from '../../../src/kube/api.js';
import { KubeError } from '../../../src/kube/errors.js';
import type { SealedSecretObject, V1Secret } from '../../../src/kube/types.js';

/** One status patch, as sent. */
export interface StatusPatch {
  readonly namespace: string;
  readonly name: string;
  readonly status: Record<string, unknown>;
}

export class MemorySecrets implements SecretApi {
  readonly #secrets = new Map<string, V1Secret>();
  /** The sealed resources on the "server", by `namespace/name`; a test sets them directly. */
  readonly sealed = new Map<string, SealedSecretObject>();
  #version = 100;
  /** Every call, as `verb namespace/name`, in order. */
  readonly calls: string[] = [];
  /** Every status patch, in order. */
  readonly statuses: StatusPatch[] = [];
  /** Runs before each call is served: a test changes the store there, as another writer would. */
  before: ((call: string) => void) | undefined;

  /** Stores `secret` as the API server would (new resourceVersion; a uid if it has none) and returns a copy. */
  put(secret: V1Secret): V1Secret {
    const meta = secret.metadata ?? {};
    const stored: V1Secret = structuredClone({ ...secret, metadata: { ...meta, uid: meta.uid ?? randomUUID(), resourceVersion: String(++this.#version) } });
    this.#secrets.set(`${meta.namespace ?? ''}/${meta.name ?? ''}`, stored);
    return structuredClone(stored);
  }

  /** The stored Secret (a copy), or undefined. */
  peek(namespace: string, name: string): V1Secret | undefined {
    const s = this.#secrets.get(`${namespace}/${name}`);
    return s === undefined ? undefined : structuredClone(s);
  }

  /** Removes a Secret without a call being counted, as a user's `kubectl delete` would. */
  remove(namespace: string, name: string): void {
    this.#secrets.delete(`${namespace}/${name}`);
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    this.#enter('get', `${namespace}/${name}`);
    return Promise.resolve(this.peek(namespace, name));
  }

  createSecret(secret: V1Secret): Promise<V1Secret> {
    const key = this.#enter('create', keyOf(secret));
    if (this.#secrets.has(key)) return Promise.reject(new KubeError(409, `create secret ${key}: HTTP 409: secrets "${secret.metadata?.name ?? ''}" already exists`));
    const { uid: _uid, ...meta } = secret.metadata ?? {};
    return Promise.resolve(this.put({ ...secret, metadata: meta }));
  }

  replaceSecret(secret: V1Secret): Promise<V1Secret> {
    const key = this.#enter('update', keyOf(secret));
    const current = this.#secrets.get(key);
    if (current === undefined) return Promise.reject(new KubeError(404, `update secret ${key}: HTTP 404: not found`));
    const rv = secret.metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata?.resourceVersion) {
      return Promise.reject(new KubeError(409, `update secret ${key}: HTTP 409: the object has been modified; please apply your changes to the latest version and try again`));
    }
    return Promise.resolve(this.put({ ...secret, metadata: { ...secret.metadata, uid: current.metadata?.uid } }));
  }

  deleteSecret(namespace: string, name: string, uid: string): Promise<void> {
    const key = this.#enter('delete', `${namespace}/${name}`);
    const current = this.#secrets.get(key);
    if (current === undefined) return Promise.reject(new KubeError(404, `delete secret ${key}: HTTP 404: not found`));
    if (current.metadata?.uid !== uid) return Promise.reject(new KubeError(409, `delete secret ${key}: HTTP 409: precondition failed: uid`));
    this.#secrets.delete(key);
    return Promise.resolve();
  }

  getSealed(namespace: string, name: string): Promise<SealedSecretObject | undefined> {
    const key = this.#enter('getSealed', `${namespace}/${name}`);
    const obj = this.sealed.get(key);
    return Promise.resolve(obj === undefined ? undefined : structuredClone(obj));
  }

  /** Merge-patches the stored sealed resource's status (as the API server would: a new resourceVersion) and records the patch. */
  patchSealedStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    const key = this.#enter('status', `${namespace}/${name}`);
    this.statuses.push({ namespace, name, status: structuredClone(status) });
    const obj = this.sealed.get(key);
    if (obj !== undefined) this.sealed.set(key, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#version) }, status: { ...obj.status, ...structuredClone(status) } });
    return Promise.resolve();
  }

  #enter(verb: string, key: string): string {
    const call = `${verb} ${key}`;
    this.calls.push(call);
    this.before?.(call);
    return key;
  }
}

function keyOf(secret: V1Secret): string {
  return `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
}
