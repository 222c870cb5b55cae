// Helpers for integration tests: the cluster started by global-setup.ts (or
// named by SEALBOX_TEST_KUBECONFIG), a namespace per test file, and clients
// that act as a service account with exactly the rights RBAC grants it.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { SealboxCluster } from './global-setup.js';

/** The plain-data shape of a client-node model class (which has no behaviour of its own). */
export type Plain<T> = T extends (infer U)[] ? Plain<U>[] : T extends Date ? T : T extends object ? { [K in keyof T]: Plain<T[K]> } : T;

/**
 * Returns `o` typed as a client-node model. The models are declared as
 * classes but are plain JSON on the wire and in the client's serializer, so a
 * literal is what the API wants; this states that once instead of silencing
 * no-unsafe-class-instance-assignment at every call.
 */
export function kubeObject<T>(o: Plain<T>): T {
  return o as T;
}

/**
 * Returns the cluster provided by the global setup.
 * @throws {Error} with the setup's reason when no cluster is available, so a
 * test fails (never skips) when the control plane could not start
 */
export function cluster(): SealboxCluster {
  const c = inject('sealboxCluster');
  if (c.error !== '') throw new Error(c.error);
  return c;
}

/** Returns the admin kubeconfig path, e.g. for KUBECONFIG of a spawned process. */
export function kubeconfigPath(): string {
  return cluster().kubeconfig;
}

/** Returns a KubeConfig for the admin user (group system:masters). */
export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/**
 * Returns a KubeConfig for the same cluster that authenticates with a bearer
 * token only (no client certificate).
 * @throws {Error} when the admin kubeconfig has no current cluster
 */
export function kubeConfigForToken(token: string): k8s.KubeConfig {
  const current = kubeConfig().getCurrentCluster();
  if (current === null) throw new Error(`kubeconfig ${kubeconfigPath()} has no current cluster`);
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser(current, { name: 'token-user', token });
  return kc;
}

/**
 * Creates a namespace named `<prefix>-<random>` and returns its name.
 * @throws {k8s.ApiException} when the API server refuses
 */
export async function createNamespace(prefix: string): Promise<string> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'test';
  const name = `${clean}-${randomBytes(3).toString('hex')}`;
  await kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespace({ body: kubeObject<k8s.V1Namespace>({ metadata: { name } }) });
  return name;
}

/** Deletes a namespace (its contents go with it); a missing one is not an error. */
export async function deleteNamespace(name: string): Promise<void> {
  try {
    await kubeConfig().makeApiClient(k8s.CoreV1Api).deleteNamespace({ name });
  } catch (err) {
    if (apiErrorCode(err) !== 404) throw err;
  }
}

/** A namespace that exists between the file's beforeAll and afterAll hooks. */
export interface NamespaceHandle {
  /** the namespace name; throws when read before beforeAll ran */
  readonly name: string;
}

/**
 * Gives the calling test file (or describe block) its own namespace: created
 * in beforeAll, deleted in afterAll. Call it at the top level of the file.
 */
export function useNamespace(prefix: string): NamespaceHandle {
  let name: string | undefined;
  beforeAll(async () => {
    if (inject('sealboxCluster').error === '') name = await createNamespace(prefix);
  });
  // without a cluster each test fails with the setup's reason (a failing
  // beforeAll would only mark them skipped)
  beforeEach(() => { cluster(); });
  afterAll(async () => { if (name !== undefined) await deleteNamespace(name); });
  return {
    get name(): string {
      if (name === undefined) throw new Error(`namespace "${prefix}-…" is not created yet; read .name inside a test or hook`);
      return name;
    },
  };
}

/**
 * Creates a service account (an existing one is fine) and returns nothing.
 * @throws {k8s.ApiException} for errors other than "already exists"
 */
export async function createServiceAccount(namespace: string, name: string): Promise<void> {
  try {
    await kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccount({ namespace, body: kubeObject<k8s.V1ServiceAccount>({ metadata: { name } }) });
  } catch (err) {
    if (apiErrorCode(err) !== 409) throw err;
  }
}

/**
 * Returns a fresh token for an existing service account through the
 * TokenRequest API (audience: the API server), valid for `expirationSeconds`.
 * @throws {Error} when the service account does not exist or no token came back
 */
export async function serviceAccountToken(namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  let res: k8s.AuthenticationV1TokenRequest;
  try {
    res = await core.createNamespacedServiceAccountToken({ name, namespace, body: kubeObject<k8s.AuthenticationV1TokenRequest>({ spec: { audiences: [], expirationSeconds } }) });
  } catch (err) {
    if (apiErrorCode(err) === 404) throw new Error(`service account "${namespace}/${name}" does not exist; create it first`, { cause: err });
    throw err;
  }
  const token = res.status?.token;
  if (token === undefined || token === '') throw new Error(`token request for "${namespace}/${name}" returned no token`);
  return token;
}

/** Returns the HTTP status of a client-node ApiException, undefined for other errors. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

/**
 * Polls `check` until it returns a value other than undefined, and returns it.
 * @throws {Error} naming `what` when `timeoutMs` passes first
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `; last error: ${last.message.split('\n')[0] ?? ''}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
