/**
 * `sealbox convert` on the real control plane (issue 16 §4): a Sealed Secrets
 * SealedSecret sealed by the real kubeseal v0.36.6 for a key imported with
 * `sealbox keys import --from-sealed-secrets`, unsealed into a Secret by
 * `sealbox controller --sealed-secrets-compat` (standing in for Sealed
 * Secrets' controller); converted through the controller's /v1/convert
 * (its template's function converts because it is the live SealedSecret's);
 * the sealbox resource applied; the bitnami one deleted. A watch on the
 * Secret sees every write: its value never changes, it is never deleted,
 * and kube-controller-manager's garbage collector leaves it alone.
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
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, readSecret, waitForReady, waitForSecret } from '../controller/sealed.js';
import { sealbox } from '../helpers/cli.js';


const env = useController({
  prefix: 'convert',
  watchedNamespaces: 2,
  extraArgs: ['--sealed-secrets-compat'],
  rbac: (ns, _watched, suffix) => [...controllerRbac(ns, suffix), ...compatRbac(ns, suffix)],
});
const custom = (): k8s.CustomObjectsApi => kubeConfig().makeApiClient(k8s.CustomObjectsApi);
const core = (): k8s.CoreV1Api => kubeConfig().makeApiClient(k8s.CoreV1Api);


const values = { password: 'hunter2', binary: Buffer.from([0, 0xff, 0x10, 0xee]).toString('base64') };
const expected = {
  password: Buffer.from('hunter2').toString('base64'), binary: values.binary, url: Buffer.from('postgres://app:hunter2@db').toString('base64'),
  token: Buffer.from(Buffer.from('hunter2').toString('base64')).toString('base64'),
};

/** A kubeseal-made file; its template data has a function (converted only from the live SealedSecret) unless `plainOnly`. */
function bitnamiFile(name: string, namespace: string, plainOnly = false): string {
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: { app: name } }, type: 'Opaque', stringData: { password: values.password }, data: { binary: values.binary } };
  const doc = parse(kubesealFile(secret, 'strict')) as { spec: { template: { data?: Record<string, string> } } };
  doc.spec.template.data = { url: 'postgres://app:{{ .password }}@db', ...(plainOnly ? {} : { token: '{{ .password | b64enc }}' }) };
  return `# the team's comment stays\n${stringify(doc)}`;
}

/** Every event of a watch on one Secret, from `resourceVersion` on. */
async function watchSecret(namespace: string, name: string, resourceVersion: string): Promise<{ events: { type: string; secret: k8s.V1Secret }[]; stop: () => void }> {
  const events: { type: string; secret: k8s.V1Secret }[] = [];
  const req = await new k8s.Watch(kubeConfig()).watch(`/api/v1/namespaces/${namespace}/secrets`, { fieldSelector: `metadata.name=${name}`, resourceVersion },
    (type: string, secret: k8s.V1Secret) => { events.push({ type, secret }); }, () => undefined);
  return { events, stop: () => { req.abort(); } };
}

beforeAll(async () => {
  realKubeseal();
  await importSealedSecretsKey(env, 'sealed-secrets-keyconv1');
}, 1_900_000);

describe('sealbox convert', () => {
  it('takes over the Secret without a gap: same uid, data never changed by any write, never deleted, kept after the bitnami SealedSecret is deleted', async () => {
    const ns = env.namespace;
    const file = join(env.dir, 'db.yaml');
    writeFileSync(file, bitnamiFile('db', ns));
    const created = await custom().createNamespacedCustomObject({ ...BITNAMI, namespace: ns, body: parse(readFileSync(file, 'utf8')) as object }) as { metadata: { uid: string } };
    // A sentinel dependent of the bitnami SealedSecret: once the garbage collector removed it, it has dealt with the owner's deletion.
    const ownerRef = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db', uid: created.metadata.uid };
    await core().createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'db-sentinel', ownerReferences: [ownerRef] }, data: { x: 'y' } } });
    const before = await waitForSecret(ns, 'db', (s) => s.data?.url !== undefined, 60_000);
    expect({ ...before.data }).toEqual(expected);
    const watch = await watchSecret(ns, 'db', before.metadata?.resourceVersion ?? '');
    try {
      const converted = sealbox(['convert', file, '--controller-url', env.controllers[0]?.url ?? '']);
      expect(converted.status, converted.stderr).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith('# the team\'s comment stays\n')).toBe(true);
      expect(text).not.toContain('hunter2');
      const sealed = parse(text) as SealedObject;
      expect(sealed.apiVersion).toBe('sealbox.dev/v1');
      await createSealed(ns, sealed);
      await waitForReady(ns, 'db', 'True', 60_000);
      const adopted = await waitForSecret(ns, 'db', (s) => s.metadata?.ownerReferences?.[0]?.apiVersion === 'sealbox.dev/v1', 30_000);
      expect(adopted.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'SealedSecret', name: 'db', controller: true })]);
      await custom().deleteNamespacedCustomObject({ ...BITNAMI, namespace: ns, name: 'db' });
      await eventually('the bitnami SealedSecret gone', async () => {
        try {
          await custom().getNamespacedCustomObject({ ...BITNAMI, namespace: ns, name: 'db' });
          return undefined;
        } catch {
          return true;
        }
      }, 30_000);
      await eventually('the garbage collector to remove the sentinel', async () => {
        try {
          await core().readNamespacedConfigMap({ namespace: ns, name: 'db-sentinel' });
          return undefined;
        } catch {
          return true;
        }
      }, 90_000);
      const after = await readSecret(ns, 'db');
      expect(after?.metadata?.uid).toBe(before.metadata?.uid);
      expect({ ...after?.data }).toEqual(expected);
    } finally {
      watch.stop();
    }
    expect(watch.events.length).toBeGreaterThan(0);
    expect(watch.events.map((e) => e.type).filter((t) => t !== 'MODIFIED')).toEqual([]);
    for (const e of watch.events) {
      expect(e.secret.metadata?.uid).toBe(before.metadata?.uid);
      expect({ ...e.secret.data }).toEqual(expected);
    }
  });

  it('refuses template data with a function unless it is the live SealedSecret\'s, exits 3, and writes nothing', () => {
    const file = join(env.dir, 'not-applied.yaml');
    const text = bitnamiFile('not-applied', env.namespace);
    writeFileSync(file, text);
    const r = sealbox(['convert', file, '--controller-url', env.controllers[0]?.url ?? '']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('template data "token" does more than place values');
    expect(r.stderr).toContain('apply the Sealed Secrets SealedSecret to the cluster first');
    expect(r.stderr).not.toContain('hunter2');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('refuses to convert a value sealed for one namespace into another, exits 5, and writes nothing', async () => {
    const [home, other] = env.namespaces;
    const file = join(env.dir, 'moved.yaml');
    const doc = parse(bitnamiFile('app', home ?? '', true)) as { metadata: { namespace: string } };
    doc.metadata.namespace = other ?? '';
    const text = stringify(doc);
    writeFileSync(file, text);
    const r = sealbox(['convert', file, '--controller-url', env.controllers[0]?.url ?? '']);
    expect(r.status, r.stderr).toBe(5);
    expect(r.stderr).toContain('no key could decrypt secret');
    expect(r.stderr).not.toContain('hunter2');
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(await readSecret(other ?? '', 'app')).toBeUndefined();
  });
});
