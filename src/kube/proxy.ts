/** Requests to a Service through the API server's service proxy. */
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { clusterServer } from './config.js';

/** A request through the service proxy. */
export interface ProxyRequest {
  readonly method: 'GET' | 'POST';
  readonly namespace: string;
  /** Service name, optionally `NAME:PORT`. */
  readonly service: string;
  /** Path on the service, starting with `/`. */
  readonly path: string;
  readonly body?: string;
  /** Media type of `body` (default application/json: re-wrap requests are JSON). */
  readonly contentType?: string;
}

/** The answer of the service behind the proxy (or of the proxy itself). */
export interface ProxyResponse {
  readonly status: number;
  readonly body: string;
}

/** The proxy URL `/api/v1/namespaces/NS/services/SERVICE/proxy/PATH` on `server`. */
export function serviceProxyUrl(server: string, r: Pick<ProxyRequest, 'namespace' | 'service' | 'path'>): URL {
  return new URL(`/api/v1/namespaces/${encodeURIComponent(r.namespace)}/services/${encodeURIComponent(r.service)}/proxy${r.path}`, server);
}

/**
 * Sends `r` through the service proxy of the kubeconfig's current cluster,
 * with the kubeconfig's credentials, and returns the status and body. Rejects
 * when the API server cannot be reached or answers nothing within 30 s.
 */
export async function sendThroughServiceProxy(kc: k8s.KubeConfig, r: ProxyRequest): Promise<ProxyResponse> {
  const url = serviceProxyUrl(clusterServer(kc), r);
  const headers = r.body === undefined ? {} : { 'content-type': r.contentType ?? 'application/json' };
  const opts: https.RequestOptions = { method: r.method, headers };
  await kc.applyToHTTPSOptions(opts);
  return new Promise<ProxyResponse>((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(r.body);
  });
}
