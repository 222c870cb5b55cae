/**
 * Sealed Secrets compatibility (issue 16 §1, §2, §5) on the real control
 * plane: a Sealed Secrets key imported with `sealbox keys import
 * --from-sealed-secrets` from a `kubectl get secret -o yaml` backup; files
 * sealed by the real kubeseal v0.36.6 (test/cluster/ss-suite.sh) with that key, in each
 * scope, with empty, binary and 1 MiB values, unsealed by `sealbox
 * controller --sealed-secrets-compat` and offline by `sealbox unseal --key`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import { BITNAMI, compatRbac, kubesealFile, importSealedSecretsKey, realKubeseal } from '../controller/compat.js';
import { useController } from '../controller/harness.js';
import { controllerRbac } from '../controller/rbac.js';
import { eventsFor, readSecret, waitForSecret } from '../controller/sealed.js';
import { sealbox } from '../helpers/cli.js';
import { vectorKey } from '../helpers/keys.js';


const env = useController({
  prefix: 'compat',
  extraArgs: ['--sealed-secrets-compat'],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});



function custom(): k8s.CustomObjectsApi {
  return kubeConfig().makeApiClient(k8s.CustomObjectsApi);
}

async function createBitnami(namespace: string, text: string): Promise<Record<string, unknown>> {
  const body = parse(text) as Record<string, unknown>;
  return await custom().createNamespacedCustomObject({ ...BITNAMI, namespace, body }) as Record<string, unknown>;
}

interface Synced { status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] }; metadata: { generation: number } }

async function waitForSynced(namespace: string, name: string, status: 'True' | 'False'): Promise<Synced> {
  return eventually(`sealedsecret ${namespace}/${name} Synced=${status}`, async () => {
    const o = await custom().getNamespacedCustomObject({ ...BITNAMI, namespace, name }) as Synced;
    const c = o.status?.conditions?.find((x) => x.type === 'Synced');
    return c?.status === status && o.status?.observedGeneration === o.metadata.generation ? o : undefined;
  }, 60_000);
}

const values = { password: 'hunter2', empty: '', binary: Buffer.from([0, 0xff, 0x10, 0xee, 0x80, 0xc0]).toString('base64') };
const expected = { password: Buffer.from('hunter2').toString('base64'), empty: '', binary: values.binary };

function secretOf(name: string, namespace: string, annotations: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, annotations }, type: 'Opaque', stringData: { password: values.password, empty: values.empty }, data: { binary: values.binary } };
}

beforeAll(async () => {
  realKubeseal();
  await importSealedSecretsKey(env, 'sealed-secrets-keyabcde');
}, 1_900_000);

describe('sealbox controller --sealed-secrets-compat with a key imported from Sealed Secrets', () => {
  it.each([
    ['strict', {}],
    ['namespace-wide', { 'sealedsecrets.bitnami.com/namespace-wide': 'true' }],
    ['cluster-wide', { 'sealedsecrets.bitnami.com/cluster-wide': 'true' }],
  ])('unseals a %s file sealed by the real kubeseal, and sealbox unseal --key recovers it offline', async (scope, annotations) => {
    const ns = env.namespace;
    const name = `db-${scope}`;
    const sealed = kubesealFile(secretOf(name, ns, annotations), scope);
    await createBitnami(ns, sealed);
    const secret = await waitForSecret(ns, name, (s) => s.data?.password !== undefined, 60_000);
    expect({ ...secret.data }).toEqual(expected);
    expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name, controller: true })]);
    await waitForSynced(ns, name, 'True');
    const file = join(env.dir, `${name}.yaml`);
    writeFileSync(file, sealed);
    const offline = sealbox(['unseal', '--key', vectorKey('a').keyPath, '-f', file]);
    expect(offline.status).toBe(0);
    expect((parse(offline.stdout) as { data: Record<string, string> }).data).toEqual(expected);
  });

  it('unseals a 1 MiB value, records the Unsealed event, and sealbox unseal --key recovers it offline', async () => {
    const ns = env.namespace;
    const big = Buffer.alloc(1024 * 1024, 7);
    big.write('start', 0);
    const text = kubesealFile({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'big', namespace: ns }, data: { blob: big.toString('base64') } }, 'strict');
    await createBitnami(ns, text);
    const secret = await waitForSecret(ns, 'big', () => true, 90_000);
    expect(Buffer.from(secret.data?.blob ?? '', 'base64').equals(big)).toBe(true);
    const unsealed = await eventually('an Unsealed event', async () => (await eventsFor(ns, 'big')).find((e) => e.reason === 'Unsealed'), 30_000);
    expect(unsealed.type).toBe('Normal');
    const file = join(env.dir, 'big.yaml');
    writeFileSync(file, text);
    const offline = sealbox(['unseal', '--key', vectorKey('a').keyPath, '-f', file]);
    expect(offline.status, offline.stderr).toBe(0);
    expect(Buffer.from((parse(offline.stdout) as { data: Record<string, string> }).data.blob ?? '', 'base64').equals(big)).toBe(true);
  });

  it('re-creates a deleted Secret', async () => {
    const ns = env.namespace;
    await createBitnami(ns, kubesealFile(secretOf('recreated', ns), 'strict'));
    const first = await waitForSecret(ns, 'recreated', () => true, 60_000);
    await kubeConfig().makeApiClient(k8s.CoreV1Api).deleteNamespacedSecret({ namespace: ns, name: 'recreated' });
    const again = await waitForSecret(ns, 'recreated', (s) => s.metadata?.uid !== first.metadata?.uid, 30_000);
    expect({ ...again.data }).toEqual(expected);
  });

  it('refuses a value moved to another name, with status, an ErrUnsealFailed event and no Secret', async () => {
    const ns = env.namespace;
    const moved = (parse(kubesealFile(secretOf('original', ns), 'strict')) as { metadata: { name: string }; spec: { template: { metadata: { name: string } } } });
    moved.metadata.name = 'moved';
    moved.spec.template.metadata.name = 'moved';
    await createBitnami(ns, stringify(moved));
    const o = await waitForSynced(ns, 'moved', 'False');
    expect(o.status?.conditions?.[0]?.message).toContain('no key could decrypt secret (binary, empty, password)');
    expect(await readSecret(ns, 'moved')).toBeUndefined();
    const failed = await eventually('an ErrUnsealFailed event', async () => (await eventsFor(ns, 'moved')).find((e) => e.reason === 'ErrUnsealFailed'), 30_000);
    expect(failed.type).toBe('Warning');
    expect(failed.message).not.toContain('hunter2');
  });

  it('renders template data with sprig functions, and names a function it does not have', async () => {
    const ns = env.namespace;
    const doc = parse(kubesealFile(secretOf('templated', ns), 'strict')) as { spec: { template: { data?: Record<string, string> } } };
    doc.spec.template.data = { 'config.json': '{"password": {{ toJson .password }}, "user": {{ "admin" | upper | quote }}}' };
    await createBitnami(ns, stringify(doc));
    const secret = await waitForSecret(ns, 'templated', () => true, 60_000);
    expect(Buffer.from(secret.data?.['config.json'] ?? '', 'base64').toString()).toBe('{"password": "hunter2", "user": "ADMIN"}');
    const bad = parse(kubesealFile(secretOf('untemplated', ns), 'strict')) as { spec: { template: { data?: Record<string, string> } } };
    bad.spec.template.data = { x: '{{ .password | htpasswd "u" }}' };
    await createBitnami(ns, stringify(bad));
    const o = await waitForSynced(ns, 'untemplated', 'False');
    expect(o.status?.conditions?.[0]?.message).toContain('"htpasswd"');
    expect(await readSecret(ns, 'untemplated')).toBeUndefined();
  });

  it('keeps sealing with its own key: the imported one is in certs.pem, not cert.pem', async () => {
    const url = env.controllers[0]?.url ?? '';
    const keyLine = vectorKey('a').certPem.trim().split('\n')[1] ?? 'x';
    expect(await (await fetch(`${url}/v1/certs.pem`)).text()).toContain(keyLine);
    expect(await (await fetch(`${url}/v1/cert.pem`)).text()).not.toContain(keyLine);
    expect(readFileSync(vectorKey('a').certPath, 'utf8')).toContain(keyLine);
  });
});
