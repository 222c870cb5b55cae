// Sealed resources and their Secrets in controller tests: sealing in-process
// with the library (src/format), reading status, and waiting for the
// controller's effects with the admin client.
import * as k8s from '@kubernetes/client-node';
import type { KeyWrapper, Scope } from '../../src/crypto/types.js';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import { CertRecipient } from '../../src/keys/cert.js';
import { apiErrorCode, eventually, kubeConfig } from '../cluster/helpers.js';

/** Where SealedSecrets are served. */
export const SEALED = { group: 'sealbox.dev', version: 'v1', plural: 'sealedsecrets' } as const;

/** A SealedSecret as the API server returns it. */
export interface SealedObject {
  apiVersion: string;
  kind: string;
  metadata: k8s.V1ObjectMeta & { name: string; namespace?: string };
  spec: { scope: string; template?: unknown; encryptedData: Record<string, string>; dataKeys: { group: string; binding: string; recipients: { type: string; id: string; wrapped: string }[] }[] };
  status?: { observedGeneration?: number; keyIds?: string[]; conditions?: { type: string; status: string; reason: string; message: string }[] };
}

/** What to seal. */
export interface SealInput {
  readonly name: string;
  readonly namespace: string;
  readonly data: Readonly<Record<string, string>>;
  readonly type?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly scope?: Scope;
}

/**
 * Seals `input` for the recipients and returns the SealedSecret manifest. A
 * recipient is a certificate's PEM or a wrapper already made (a certificate
 * parsed once for many seals, a KMS key).
 */
export async function seal(recipients: string | readonly (string | KeyWrapper)[], input: SealInput): Promise<SealedObject> {
  const list = typeof recipients === 'string' ? [recipients] : recipients;
  const sealed = await sealSecret({
    name: input.name,
    namespace: input.namespace,
    type: input.type ?? 'Opaque',
    labels: input.labels ?? {},
    annotations: input.annotations ?? {},
    data: new Map(Object.entries(input.data).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))])),
  }, { scope: input.scope ?? 'strict', wrappers: list.map((r, i) => (typeof r === 'string' ? CertRecipient.fromPem(r, `certificate ${i}`) : r)) });
  return sealedManifest(sealed) as unknown as SealedObject;
}

/**
 * Returns the newest certificate a controller serves.
 * @throws {Error} when it does not answer 200
 */
export async function fetchCert(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/cert.pem`);
  if (res.status !== 200) throw new Error(`GET ${url}/v1/cert.pem: HTTP ${res.status}`);
  return res.text();
}

const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);

/** Creates a SealedSecret in `namespace` as the admin (the manifest's own namespace is replaced). */
export async function createSealed(namespace: string, manifest: SealedObject): Promise<SealedObject> {
  const body = { ...manifest, metadata: { ...manifest.metadata, namespace } };
  return (await custom().createNamespacedCustomObject({ ...SEALED, namespace, body })) as SealedObject;
}

/** Replaces a SealedSecret's spec (keeps its metadata and resourceVersion). */
export async function updateSealedSpec(namespace: string, name: string, spec: SealedObject['spec']): Promise<SealedObject> {
  const current = await getSealed(namespace, name);
  return (await custom().replaceNamespacedCustomObject({ ...SEALED, namespace, name, body: { ...current, spec } })) as SealedObject;
}

export async function getSealed(namespace: string, name: string): Promise<SealedObject> {
  return (await custom().getNamespacedCustomObject({ ...SEALED, namespace, name })) as SealedObject;
}

export async function deleteSealed(namespace: string, name: string): Promise<void> {
  await custom().deleteNamespacedCustomObject({ ...SEALED, namespace, name });
}

/** Lists the SealedSecrets of a namespace. */
export async function listSealed(namespace: string): Promise<SealedObject[]> {
  return ((await custom().listNamespacedCustomObject({ ...SEALED, namespace })) as { items: SealedObject[] }).items;
}

/** The Ready condition of a sealed resource, when it has one for its current generation. */
export function readyCondition(o: SealedObject): { status: string; reason: string; message: string } | undefined {
  if (o.status?.observedGeneration !== o.metadata.generation) return undefined;
  return o.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Waits until the sealed resource reports Ready (True or False) for its generation. */
export async function waitForReady(namespace: string, name: string, status: 'True' | 'False', timeoutMs = 30_000): Promise<SealedObject> {
  return eventually(`sealed secret ${namespace}/${name} to report Ready=${status}`, async () => {
    const o = await getSealed(namespace, name);
    return readyCondition(o)?.status === status ? o : undefined;
  }, timeoutMs, 100);
}

/** Returns the Secret, or undefined when it does not exist. */
export async function readSecret(namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
  try {
    return await core().readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (apiErrorCode(err) === 404) return undefined;
    throw err;
  }
}

/** Waits until the Secret exists and `check` accepts it; returns it. */
export async function waitForSecret(namespace: string, name: string, check: (s: k8s.V1Secret) => boolean = () => true, timeoutMs = 30_000, intervalMs = 100): Promise<k8s.V1Secret> {
  return eventually(`secret ${namespace}/${name}`, async () => {
    const s = await readSecret(namespace, name);
    return s !== undefined && check(s) ? s : undefined;
  }, timeoutMs, intervalMs);
}

/** Decodes a Secret's data to text. */
export function secretText(s: k8s.V1Secret): Record<string, string> {
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** Lists the Events about one object in a namespace. */
export async function eventsFor(namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  const list = await core().listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}
