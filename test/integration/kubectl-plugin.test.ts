// `kubectl sealbox …` through the real kubectl (built beside the control plane
// by test/cluster/build.sh, same version), with the npm package's
// `kubectl-sealbox` on PATH as `npm install -g` puts it: kubectl finds the
// plugin, the plugin fetches the cluster's certificate with the user's
// kubeconfig, and what it seals, applied with kubectl, becomes a Secret.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../cluster/control-plane.js';
import { kubeconfigPath } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import { secretText, waitForSecret } from '../controller/sealed.js';
import type { InstalledPackage } from '../helpers/npm-package.js';
import { packAndInstall } from '../helpers/npm-package.js';

const env = useController({ prefix: 'kubectl-plugin' });
const { kubectl } = clusterPaths();

describe('kubectl sealbox', () => {
  let pkg: InstalledPackage;

  beforeAll(() => {
    pkg = packAndInstall();
  }, 180_000);
  afterAll(() => {
    // undefined when beforeAll failed: its error is the one to read
    (pkg as InstalledPackage | undefined)?.cleanup();
  });

  /** The real kubectl, with only the package's bin, node and /usr/bin:/bin on PATH, and the admin kubeconfig. */
  const run = (args: readonly string[], input = ''): { status: number | null; stdout: string; stderr: string } => spawnSync(kubectl, args, {
    input, encoding: 'utf8', timeout: 60_000, env: { PATH: pkg.path, HOME: join(pkg.bin, '..'), KUBECONFIG: kubeconfigPath() },
  });

  it('is found by kubectl on PATH', () => {
    expect(existsSync(kubectl), `${kubectl} is missing: run bash test/cluster/build.sh`).toBe(true);

    const r = run(['plugin', 'list']);

    expect(r.stdout).toContain(join(pkg.bin, 'kubectl-sealbox'));
  });

  it('seals with the cluster\'s certificate, and kubectl apply of the output makes the Secret', async () => {
    const sealed = run(['sealbox', 'seal', '--controller-namespace', env.controllerNamespace,
      '--name', 'plugin', '--namespace', env.namespace, '--from-literal', 'token=through kubectl']);
    expect(sealed.status, sealed.stderr).toBe(0);
    expect(sealed.stdout).toContain('kind: SealedSecret');
    expect(sealed.stdout).not.toContain('through kubectl');

    const applied = run(['apply', '-f', '-'], sealed.stdout);
    expect(applied.status, applied.stderr).toBe(0);
    const secret = await waitForSecret(env.namespace, 'plugin');

    expect(secretText(secret)).toEqual({ token: 'through kubectl' });
  });
});
