/** Kubeconfig loading and the HTTP client configuration built from it. */
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { KubeError } from './errors.js';

/**
 * Loads a kubeconfig: the given file, else the in-cluster service account
 * when running in a pod, else the default ($KUBECONFIG, ~/.kube/config).
 */
export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file !== undefined && file !== '') kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** Returns the namespace of the kubeconfig's current context, or `default`. */
export function currentNamespace(kc: k8s.KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

/** Returns the URL of the kubeconfig's current cluster; throws KubeError when it has none. */
export function clusterServer(kc: k8s.KubeConfig): string {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new KubeError(0, 'the kubeconfig has no current cluster');
  return server;
}

/**
 * The client-node configuration for the kubeconfig's current cluster, with
 * one keep-alive connection pool. Throws KubeError when there is no current
 * cluster.
 */
export function clientConfiguration(kc: k8s.KubeConfig): k8s.Configuration {
  return k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(clusterServer(kc), {}), authMethods: { default: keepAliveAuth(kc) } });
}

/** A string that identifies one TLS option (CA, certificate, key, ...) of an agent. */
function tlsOptionId(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(tlsOptionId).join('\u0001');
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return v === undefined ? '' : JSON.stringify(v);
}

/**
 * client-node 1.x gives every API call a new https.Agent, so every request
 * opened a new TLS connection: a handshake and CA parsing on both ends (at
 * 1,000 reconciles, most of the controller's CPU and much of the API
 * server's). This auth method applies the kubeconfig's credentials as before
 * and then swaps in one keep-alive agent per distinct TLS identity (normally
 * just one). Proxy agents are left alone.
 */
function keepAliveAuth(kc: k8s.KubeConfig): k8s.SecurityAuthentication {
  const agents = new Map<string, https.Agent>();
  return {
    getName: () => 'sealbox-keep-alive',
    async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const agent = context.getAgent();
      if (agent?.constructor !== https.Agent) return;
      const o = agent.options;
      const id = [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(tlsOptionId).join('\0');
      let shared = agents.get(id);
      if (shared === undefined) {
        shared = new https.Agent({ ...o, keepAlive: true });
        agents.set(id, shared);
      }
      context.setAgent(shared);
    },
  };
}
