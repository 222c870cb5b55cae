/**
 * `sealbox convert` with no --controller-url: the default path, through the
 * API server's service proxy to the Service `sealbox-controller` (as
 * kubeseal reaches Sealed Secrets' controller), on the real control plane,
 * with the controller running as a process on this machine's own address
 * (test/cluster/service-proxy.ts). The converter is a service account with
 * no rights of its own: without the `services/proxy` grant it gets exit 8
 * and an error naming the right it lacks; with deploy/rbac-users.yaml's Role
 * `sealbox-proxy` and its binding applied as they are, the same account
 * converts (docs/MIGRATION.md, docs/DEPLOY.md "People").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createServiceAccount, eventually, kubeConfig, kubeConfigForToken, serviceAccountToken } from '../cluster/helpers.js';
import { exposeController, hostAddress } from '../cluster/service-proxy.js';
import { compatRbac, importSealedSecretsKey, kubesealFile, realKubeseal } from '../controller/compat.js';
import { useController } from '../controller/harness.js';
import type { Manifest } from '../controller/manifests.js';
import { applyObject, readManifests } from '../controller/manifests.js';
import { controllerRbac } from '../controller/rbac.js';
import { sealboxAsync } from '../helpers/cli.js';

const SERVICE = 'sealbox-controller';
const env = useController({
  prefix: 'convert-proxy',
  extraArgs: ['--sealed-secrets-compat', '--listen', `${hostAddress()}:0`],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});
let converterKubeconfig = '';

/** deploy/rbac-users.yaml's Role and RoleBinding `sealbox-proxy`, as they are, in the test's controller namespace. */
function proxyRbac(namespace: string): Manifest[] {
  return readManifests('deploy').filter((d) => d.file === 'deploy/rbac-users.yaml' && d.object.metadata.name === 'sealbox-proxy')
    .map((d) => ({ ...d.object, metadata: { ...d.object.metadata, namespace } }));
}

function bitnamiFile(name: string): string {
  return kubesealFile({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: env.namespace }, type: 'Opaque', stringData: { password: 'hunter2-proxy' } }, 'strict');
}

async function convert(file: string): Promise<{ status: number | null; stderr: string }> {
  // no --controller-url, no SEALBOX_CONTROLLER_URL: the service proxy, with the converter's own credentials
  return sealboxAsync(['convert', file, '--kubeconfig', converterKubeconfig, '--controller-namespace', env.controllerNamespace], { env: { SEALBOX_CONTROLLER_URL: undefined } });
}

beforeAll(async () => {
  realKubeseal();
  await importSealedSecretsKey(env, 'sealed-secrets-keyproxy');
  await exposeController(kubeConfig(), env.controllerNamespace, SERVICE, env.controllers[0]?.url ?? '');
  await createServiceAccount(env.namespace, 'converter');
  converterKubeconfig = join(env.dir, 'converter-kubeconfig');
  writeFileSync(converterKubeconfig, kubeConfigForToken(await serviceAccountToken(env.namespace, 'converter')).exportConfig(), { mode: 0o600 });
}, 1_900_000);

describe('sealbox convert through the service proxy', () => {
  it('without services/proxy rights: exit 8, an error naming the right it needs, and no file written', async () => {
    const file = join(env.dir, 'denied.yaml');
    const text = bitnamiFile('denied');
    writeFileSync(file, text);
    const r = await convert(file);
    expect(r.status, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/^error: .*the API server refused POST \/v1\/convert through the service proxy/m);
    expect(r.stderr).toContain(`"create" on services/proxy "${SERVICE}:http" in namespace "${env.controllerNamespace}"`);
    expect(r.stderr).toContain('Role sealbox-proxy');
    expect(r.stderr).not.toContain('hunter2');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('with deploy/rbac-users.yaml\'s sealbox-proxy Role and binding applied as they are, the same account converts', async () => {
    for (const obj of proxyRbac(env.controllerNamespace)) {
      const res = await applyObject(kubeConfig(), obj, { dryRun: false });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    }
    const file = join(env.dir, 'db.yaml');
    writeFileSync(file, bitnamiFile('db'));
    // RBAC bindings reach the API server's authorizer through its informers, a moment after the write
    const r = await eventually('convert to pass the proxy', async () => {
      const c = await convert(file);
      return c.status === 8 ? undefined : c;
    }, 30_000, 500);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('1 SealedSecret(s) in 1 file(s) converted');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('hunter2');
    const sealed = parse(text) as { apiVersion: string; metadata: { name: string; namespace: string }; spec: { scope: string } };
    expect(sealed).toMatchObject({ apiVersion: 'sealbox.dev/v1', metadata: { name: 'db', namespace: env.namespace }, spec: { scope: 'strict' } });
  });
});
