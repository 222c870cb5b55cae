// vitest globalSetup for the `integration` project: starts one local control
// plane per run (or uses the cluster named by SEALBOX_TEST_KUBECONFIG) and
// hands its kubeconfig to the tests via provide/inject (see helpers.ts).
// Setup errors are handed over too, so every integration test fails with the
// reason instead of being skipped, and the unit project still runs.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.js';

/** Where the integration tests find their cluster. */
export interface SealboxCluster {
  /** admin kubeconfig path; '' when `error` is set */
  kubeconfig: string;
  /** why no cluster is available; '' when it is */
  error: string;
  /** true when SEALBOX_TEST_KUBECONFIG pointed at an existing cluster */
  external: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    sealboxCluster: SealboxCluster;
  }
}

/** Env var naming an existing cluster's kubeconfig; when set, nothing is started. */
export const EXTERNAL_KUBECONFIG_ENV = 'SEALBOX_TEST_KUBECONFIG';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** CRD files installed before kube-controller-manager starts: the fixtures, crds/ and Sealed Secrets' API for the compatibility mode (deploy/compat/). */
function crdFiles(): string[] {
  const dirs = [join(root, 'test', 'cluster', 'fixtures'), join(root, 'crds')];
  const compat = join(root, 'deploy', 'compat', 'sealedsecrets.bitnami.com.yaml');
  return [...dirs.filter((d) => existsSync(d)).flatMap((d) =>
    readdirSync(d).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(d, f))), ...(existsSync(compat) ? [compat] : [])];
}

/** Starts the control plane; returns the teardown that stops it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env[EXTERNAL_KUBECONFIG_ENV];
  if (external !== undefined && external !== '') {
    const path = resolve(external);
    const error = existsSync(path) ? '' : `${EXTERNAL_KUBECONFIG_ENV}=${external}: no such kubeconfig file`;
    project.provide('sealboxCluster', { kubeconfig: error === '' ? path : '', error, external: true });
    return () => Promise.resolve();
  }
  try {
    const cp = await startControlPlane({
      build: true,
      crdFiles: crdFiles(),
      keepState: process.env.SEALBOX_CLUSTER_KEEP === '1',
      log: (m) => { process.stderr.write(`${m}\n`); },
    });
    project.provide('sealboxCluster', { kubeconfig: cp.kubeconfig, error: '', external: false });
    return () => cp.stop();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`sealbox: local control plane could not start: ${reason}\n`);
    project.provide('sealboxCluster', { kubeconfig: '', error: `local control plane could not start: ${reason}`, external: false });
    return () => Promise.resolve();
  }
}
