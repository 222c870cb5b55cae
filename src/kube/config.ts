/** Kubeconfig loading and the HTTP client configuration built from it. */
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { KubeError } from './errors.js';
import { AgentPool } from './transport.js';

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
 * keep-alive connections from `agents` (shared with a JsonTransport when
 * given). Throws KubeError when there is no current cluster.
 */
export function clientConfiguration(kc: k8s.KubeConfig, agents = new AgentPool()): k8s.Configuration {
  return k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(clusterServer(kc), {}), authMethods: { default: keepAliveAuth(kc, agents) } });
}

/**
 * client-node 1.x gives every API call a new https.Agent, so every request
 * opened a new TLS connection: a handshake and CA parsing on both ends (at
 * 1,000 reconciles, most of the controller's CPU and much of the API
 * server's). This auth method applies the kubeconfig's credentials as before
 * and then swaps in the pool's keep-alive agent for that TLS identity
 * (normally just one). Proxy agents are left alone.
 */
function keepAliveAuth(kc: k8s.KubeConfig, agents: AgentPool): k8s.SecurityAuthentication {
  return {
    getName: () => 'sealbox-keep-alive',
    async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const agent = context.getAgent();
      const shared = agents.shared(agent);
      if (shared !== agent) context.setAgent(shared as https.Agent);
    },
  };
}
