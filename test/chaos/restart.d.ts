/** Types of restart.js (plain ESM beside test/cluster's JavaScript helpers). */

/**
 * Kills `name` of the control plane run in `stateDir` with SIGKILL and starts
 * it again with the command line it had (waiting for its port to be free, and
 * spawning again if it loses the port to another process); resolves once it
 * answers again.
 */
export function restartComponent(stateDir: string, name: 'etcd' | 'kube-apiserver', timeoutMs?: number): Promise<{ downMs: number; attempts: number }>;
