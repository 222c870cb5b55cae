// Types for control-plane.js (plain ESM so that Node 20 can run it directly).

/** Pinned versions and binary locations, read from versions.sh. */
export interface ClusterPaths {
  /** $SEALBOX_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/sealbox) */
  cache: string;
  k8sVersion: string;
  etcdVersion: string;
  /** parent of the per-run state dirs: $SEALBOX_CACHE/run */
  runRoot: string;
  buildScript: string;
  etcd: string;
  apiserver: string;
  controllerManager: string;
  /** kubectl of the same version, built beside the servers */
  kubectl: string;
}

export interface StartOptions {
  /** run build.sh first (a no-op when the binaries are cached) */
  build?: boolean;
  /** run dir name under $SEALBOX_CACHE/run; default: unique per run */
  id?: string;
  /** no watchdog: the control plane outlives the caller until stopped */
  persistent?: boolean;
  /** YAML files whose CustomResourceDefinitions are installed before kube-controller-manager starts */
  crdFiles?: string[];
  /**
   * start kube-controller-manager (default true). Without it nothing creates
   * "default" service accounts or kube-root-ca.crt, deletes namespaces' contents
   * or collects owned objects: for tests that need none of that and whose
   * measurements its informers (which watch every object) would disturb
   */
  controllerManager?: boolean;
  /** keep the state dir (logs, etcd data) after stop, for debugging */
  keepState?: boolean;
  /** progress messages (stale runs removed, ready time) */
  log?: (msg: string) => void;
}

/** A running control plane. */
export interface ControlPlane {
  /** $SEALBOX_CACHE/run/<id>: pki/, logs/, pids/, kubeconfig */
  stateDir: string;
  /** admin kubeconfig (client certificate in group system:masters), certificates embedded */
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** CA that signed the API server's serving certificate */
  caFile: string;
  /** pid of each process started: etcd, kube-apiserver, kube-controller-manager (unless left out), watchdog */
  pids: Record<string, number>;
  /** stops every process and removes the state dir (unless keepState) */
  stop(): Promise<void>;
}

/** Returns the pinned versions and binary paths from versions.sh. */
export function clusterPaths(): ClusterPaths;
/** Runs build.sh; throws with the reason when the build fails. */
export function buildControlPlane(): Promise<void>;
/** Starts etcd, kube-apiserver and (unless `controllerManager: false`) kube-controller-manager; throws with the reason and log tail on failure. */
export function startControlPlane(opts?: StartOptions): Promise<ControlPlane>;
/** Stops the control plane in `stateDir` by its pid files and removes the dir. */
export function stopControlPlane(stateDir: string): Promise<void>;
