// Makes an HTTP server on this machine reachable through the API server's
// service proxy (/api/v1/namespaces/NS/services/NAME:PORT/proxy/...), as a
// Service of a real cluster would be, without a kubelet: a selector-less
// Service, a placeholder Pod that never runs but whose status (written here)
// claims the server's address, and Endpoints naming that Pod. The API server
// proxies only to an Endpoints address that a Pod reports as its own, and
// refuses loopback and link-local addresses, so the server must listen on a
// non-loopback address of this machine (hostAddress): the traffic never
// leaves it.
import { networkInterfaces } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { KubeApi } from '../../src/kube/api.js';
import { apiErrorCode, eventually, kubeObject } from './helpers.js';

/** A Service to expose through the service proxy. */
export interface ProxiedService {
  readonly namespace: string;
  /** Name of the Service, its Endpoints and the placeholder Pod. */
  readonly name: string;
  /** The Service's port name (kubeseal proxies through the first port, by name). */
  readonly portName: string;
  /** Port of the Service. */
  readonly port: number;
  /** Address and port the server listens on. */
  readonly address: string;
  readonly targetPort: number;
}

/**
 * Returns the first IPv4 address of this machine that is neither loopback
 * nor link-local: one the API server's proxy accepts.
 * @throws {Error} when the machine has none
 */
export function hostAddress(): string {
  const ip = Object.values(networkInterfaces()).flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))?.address;
  if (ip === undefined) throw new Error('this machine has no non-loopback IPv4 address for the endpoints of a proxied service');
  return ip;
}

async function ignoreMissing(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (apiErrorCode(err) !== 404) throw err;
  }
}

/** Deletes the Service, Endpoints and placeholder Pod of `s`; missing ones are fine. */
export async function unexposeService(kc: k8s.KubeConfig, s: Pick<ProxiedService, 'namespace' | 'name'>): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ref = { name: s.name, namespace: s.namespace };
  await ignoreMissing(() => core.deleteNamespacedService(ref));
  await ignoreMissing(() => core.deleteNamespacedEndpoints(ref));
  await ignoreMissing(() => core.deleteNamespacedPod({ ...ref, gracePeriodSeconds: 0 }));
  // the Pod goes at once (no kubelet holds it), but wait: a re-create must not meet it
  for (let i = 0; i < 100; i++) {
    try {
      await core.readNamespacedPod(ref);
    } catch (err) {
      if (apiErrorCode(err) === 404) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`placeholder pod ${s.namespace}/${s.name} is still there 10 s after its deletion`);
}

/**
 * Creates (again, when they exist) the Service, placeholder Pod and Endpoints
 * that route the service proxy to `s.address:s.targetPort`.
 * @throws {k8s.ApiException} when the API server refuses a write
 */
export async function exposeService(kc: k8s.KubeConfig, s: ProxiedService): Promise<void> {
  await unexposeService(kc, s);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  // a Pod needs its service account to exist, even one that never runs
  try {
    await core.createNamespacedServiceAccount({ namespace: s.namespace, body: kubeObject<k8s.V1ServiceAccount>({ metadata: { name: 'default' } }) });
  } catch (err) {
    if (apiErrorCode(err) !== 409) throw err;
  }
  const metadata = { name: s.name, namespace: s.namespace, labels: { 'app.kubernetes.io/name': s.name } };
  await core.createNamespacedService({ namespace: s.namespace, body: kubeObject<k8s.V1Service>({ metadata, spec: { ports: [{ name: s.portName, port: s.port, targetPort: s.targetPort }] } }) });
  const pod = kubeObject<k8s.V1Pod>({ metadata, spec: { automountServiceAccountToken: false, containers: [{ name: s.name, image: 'placeholder.invalid/none' }] } });
  await core.createNamespacedPod({ namespace: s.namespace, body: pod });
  const ip = s.address;
  await core.replaceNamespacedPodStatus({ name: s.name, namespace: s.namespace, body: kubeObject<k8s.V1Pod>({ metadata, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }) });
  await core.createNamespacedEndpoints({
    namespace: s.namespace,
    body: kubeObject<k8s.V1Endpoints>({
      metadata,
      subsets: [{ addresses: [{ ip, targetRef: { kind: 'Pod', namespace: s.namespace, name: s.name } }], ports: [{ name: s.portName, port: s.targetPort }] }],
    }),
  });
}

/**
 * Exposes a sealbox controller that listens on hostAddress() at `url` as the
 * Service `name` (port `http`, 8080) in `namespace`, as kubeseal and the CLI
 * reach it, and waits until the service proxy serves its /v1/cert.pem.
 * @throws {Error} when the proxy does not reach it within a minute
 */
export async function exposeController(kc: k8s.KubeConfig, namespace: string, name: string, url: string): Promise<void> {
  await exposeService(kc, { namespace, name, portName: 'http', port: 8080, address: hostAddress(), targetPort: Number(new URL(url).port) });
  const api = new KubeApi(kc, { qps: 50, burst: 50 });
  await eventually(`the service proxy to reach the controller's /v1/cert.pem (${namespace}/${name})`, async () => {
    const res = await api.serviceProxy('GET', namespace, `${name}:http`, '/v1/cert.pem');
    return res.status === 200 ? true : undefined;
  }, 60_000);
}
