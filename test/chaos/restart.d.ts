/** Types of restart.js (plain ESM beside test/cluster's JavaScript helpers). */

/**
 * Kills `name` of the control plane run in `stateDir` with SIGKILL and starts
 * it again with the command line it had; resolves once it answers again.
 */
export function restartComponent(stateDir: string, name: 'etcd' | 'kube-apiserver'): Promise<{ downMs: number }>;
