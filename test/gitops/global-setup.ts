// vitest globalSetup for `npm run test:gitops`: builds Flux's controllers
// (test/cluster/flux.sh: a no-op when cached), then starts a control plane
// whose CRDs are crds/, the test fixtures and Flux's sources and
// Kustomizations. Hands the cluster (as test/cluster/global-setup.ts does)
// and Flux's folder to the tests; a failure fails every test with its reason.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startControlPlane } from '../cluster/control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** $SEALBOX_CACHE/flux-…: bin/ and crds/; '' when the build failed */
    fluxDir: string;
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));

function yamlFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f)) : [];
}

/** Builds Flux, starts the control plane; returns the teardown that stops it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fail = (what: string, err: unknown): () => Promise<void> => {
    const reason = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`sealbox: ${reason}\n`);
    project.provide('fluxDir', '');
    project.provide('sealboxCluster', { kubeconfig: '', error: reason, external: false });
    return () => Promise.resolve();
  };
  let fluxDir: string;
  try {
    const started = Date.now();
    const { stdout } = await promisify(execFile)('bash', [join(root, 'test/cluster/flux.sh')], { maxBuffer: 64 << 20 });
    fluxDir = stdout.trim();
    process.stderr.write(`sealbox: flux controllers in ${fluxDir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  } catch (err) {
    return fail('flux controllers could not be built (test/cluster/flux.sh)', err);
  }
  try {
    const cp = await startControlPlane({
      build: true,
      crdFiles: [...yamlFiles(join(root, 'test/cluster/fixtures')), ...yamlFiles(join(root, 'crds')), ...yamlFiles(join(fluxDir, 'crds'))],
      keepState: process.env.SEALBOX_CLUSTER_KEEP === '1',
      log: (m) => { process.stderr.write(`${m}\n`); },
    });
    project.provide('fluxDir', fluxDir);
    project.provide('sealboxCluster', { kubeconfig: cp.kubeconfig, error: '', external: false });
    return () => cp.stop();
  } catch (err) {
    return fail('local control plane could not start', err);
  }
}
