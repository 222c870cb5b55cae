// Smoke tests for the local control plane: the features the controller
// depends on (CRD schema validation, Secrets and watches, garbage collection,
// RBAC for service-account tokens) really work against this API server.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  apiErrorCode, createServiceAccount, eventually, kubeConfig, kubeConfigForToken, kubeObject, serviceAccountToken, useNamespace,
} from '../cluster/helpers.js';

const fixture = new URL('../cluster/fixtures/widget-crd.yaml', import.meta.url);
const crdsDir = new URL('../../crds/', import.meta.url);
const widgets = { group: 'smoke.sealbox.test', version: 'v1', plural: 'widgets' };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const ns = useNamespace('smoke');

/**
 * Returns the CustomResourceDefinitions in a YAML file (other kinds are
 * skipped). Parsed with client-node's loader, which maps wire names such as
 * `enum` and `x-kubernetes-*` to its model fields: a plain parsed object would
 * lose those fields when the typed API serializes it.
 */
function crdsIn(file: string | URL): k8s.V1CustomResourceDefinition[] {
  return k8s.loadAllYaml(readFileSync(file, 'utf8'))
    .filter((o): o is k8s.V1CustomResourceDefinition => (o as { kind?: unknown } | null)?.kind === 'CustomResourceDefinition');
}

/** Installs a CRD when missing (an external cluster) and waits until it is served. */
async function ensureCrd(body: k8s.V1CustomResourceDefinition): Promise<k8s.V1CustomResourceDefinition> {
  const ext = kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
  const name = body.metadata?.name ?? '';
  try {
    await ext.createCustomResourceDefinition({ body });
  } catch (err) {
    if (apiErrorCode(err) !== 409) throw err;
  }
  return eventually(`crd ${name} to be established`, async () => {
    const crd = await ext.readCustomResourceDefinition({ name });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? crd : undefined;
  });
}

async function ensureWidgetCrd(): Promise<k8s.V1CustomResourceDefinition> {
  const [crd] = crdsIn(fixture);
  if (crd === undefined) throw new Error(`no crd in ${fixture.pathname}`);
  return ensureCrd(crd);
}

/** Returns the Kubernetes Status of a failed call, parsed from the ApiException body. */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; status: k8s.V1Status }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof k8s.ApiException)) throw err;
    const body: unknown = err.body;
    return { code: err.code, status: (typeof body === 'string' ? JSON.parse(body) : body) as k8s.V1Status };
  }
  throw new Error('expected the API server to refuse the request, but it succeeded');
}

async function secretGone(namespace: string, name: string): Promise<true | undefined> {
  try {
    await kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace, name });
    return undefined;
  } catch (err) {
    if (apiErrorCode(err) === 404) return true;
    throw err;
  }
}

function ownedSecret(name: string, owner: { apiVersion: string; kind: string; name: string; uid: string }): k8s.V1Secret {
  return kubeObject<k8s.V1Secret>({
    metadata: { name, ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }] }, stringData: { k: 'v' },
  });
}

describe('local control plane', () => {
  it('accepts and serves every CRD in crds/ and the sample CRD', async () => {
    const files = existsSync(crdsDir) ? readdirSync(crdsDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => new URL(f, crdsDir)) : [];
    const crds = [...files, fixture].flatMap((f) => crdsIn(f));
    expect(crds.map((c) => c.metadata?.name)).toContain('widgets.smoke.sealbox.test');
    for (const crd of crds) {
      const served = await ensureCrd(crd);
      expect(served.spec.versions.some((v) => v.served)).toBe(true);
    }
  });

  it('stores a valid Widget and rejects Widgets that break the CRD schema', async () => {
    const crd = await ensureWidgetCrd();
    expect(crd.spec.names.kind).toBe('Widget');
    const co = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const namespace = ns.name;
    const valid = { apiVersion: 'smoke.sealbox.test/v1', kind: 'Widget', metadata: { name: 'ok' }, spec: { size: 3, color: 'red' } };
    await co.createNamespacedCustomObject({ ...widgets, namespace, body: valid });
    const read = (await co.getNamespacedCustomObject({ ...widgets, namespace, name: 'ok' })) as { spec: unknown };
    expect(read.spec).toEqual({ size: 3, color: 'red' });

    const wrongType = await statusOf(co.createNamespacedCustomObject({ ...widgets, namespace,
      body: { ...valid, metadata: { name: 'bad-type' }, spec: { size: 'big' } } }));
    expect(wrongType.code).toBe(422);
    expect(wrongType.status.reason).toBe('Invalid');
    expect(wrongType.status.details?.causes?.map((c) => c.field)).toContain('spec.size');

    const missing = await statusOf(co.createNamespacedCustomObject({ ...widgets, namespace,
      body: { ...valid, metadata: { name: 'bad-missing' }, spec: { color: 'purple' } } }));
    expect(missing.code).toBe(422);
    expect(missing.status.details?.causes?.map((c) => c.field)).toEqual(expect.arrayContaining(['spec.size', 'spec.color']));
  });

  it('creates, reads and watches a Secret', async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const namespace = ns.name;
    const events: { type: string; value: string | undefined }[] = [];
    const watch = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${namespace}/secrets`,
      { fieldSelector: 'metadata.name=db' },
      (type: string, obj: k8s.V1Secret) => { events.push({ type, value: obj.data?.password }); },
      () => undefined);
    try {
      await core.createNamespacedSecret({ namespace, body: kubeObject<k8s.V1Secret>({ metadata: { name: 'db' }, data: { password: b64('one') } }) });
      const read = await core.readNamespacedSecret({ namespace, name: 'db' });
      expect(read.data?.password).toBe(b64('one'));
      await core.replaceNamespacedSecret({ namespace, name: 'db', body: kubeObject<k8s.V1Secret>({ metadata: read.metadata, data: { password: b64('two') } }) });
      await core.deleteNamespacedSecret({ namespace, name: 'db' });
      await eventually('ADDED, MODIFIED and DELETED watch events', () =>
        Promise.resolve(events.some((e) => e.type === 'DELETED') ? true : undefined), 10_000);
      expect(events).toEqual([
        { type: 'ADDED', value: b64('one') },
        { type: 'MODIFIED', value: b64('two') },
        { type: 'DELETED', value: b64('two') },
      ]);
    } finally {
      watch.abort();
    }
  });

  it('deletes a Secret within 60 s after its owner ConfigMap is deleted', async () => {
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    const namespace = ns.name;
    const owner = await core.createNamespacedConfigMap({ namespace, body: kubeObject<k8s.V1ConfigMap>({ metadata: { name: 'owner' }, data: { a: 'b' } }) });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' };
    await core.createNamespacedSecret({ namespace, body: ownedSecret('dependent', ref) });
    await core.createNamespacedSecret({ namespace, body: kubeObject<k8s.V1Secret>({ metadata: { name: 'bystander' }, stringData: { k: 'v' } }) });
    await core.deleteNamespacedConfigMap({ namespace, name: 'owner' });
    await eventually('the garbage collector to delete the dependent Secret', () => secretGone(namespace, 'dependent'), 60_000, 500);
    // only the dependent goes: an unowned Secret next to it stays
    await expect(core.readNamespacedSecret({ namespace, name: 'bystander' })).resolves.toBeDefined();
  }, 90_000);

  it('deletes a Secret within 60 s after its owner custom resource is deleted', async () => {
    await ensureWidgetCrd();
    const kc = kubeConfig();
    const namespace = ns.name;
    const co = kc.makeApiClient(k8s.CustomObjectsApi);
    const owner = (await co.createNamespacedCustomObject({ ...widgets, namespace,
      body: { apiVersion: 'smoke.sealbox.test/v1', kind: 'Widget', metadata: { name: 'owner' }, spec: { size: 1 } } })) as k8s.KubernetesObject;
    const ref = { apiVersion: 'smoke.sealbox.test/v1', kind: 'Widget', name: 'owner', uid: owner.metadata?.uid ?? '' };
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace, body: ownedSecret('widget-dependent', ref) });
    await core.createNamespacedSecret({ namespace, body: kubeObject<k8s.V1Secret>({ metadata: { name: 'widget-bystander' }, stringData: { k: 'v' } }) });
    // the Secret is there, owned by the Widget, before the Widget goes
    expect((await core.readNamespacedSecret({ namespace, name: 'widget-dependent' })).metadata?.ownerReferences?.map((o) => o.uid)).toEqual([ref.uid]);
    await co.deleteNamespacedCustomObject({ ...widgets, namespace, name: 'owner' });
    expect(await eventually('the garbage collector to delete the Widget\'s Secret', () => secretGone(namespace, 'widget-dependent'), 60_000, 500)).toBe(true);
    // only the dependent goes: an unowned Secret next to it stays
    await expect(core.readNamespacedSecret({ namespace, name: 'widget-bystander' })).resolves.toBeDefined();
  }, 90_000);

  it('gives a new namespace its default service account', async () => {
    const sa = await eventually('the default service account', async () =>
      kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedServiceAccount({ namespace: ns.name, name: 'default' }), 30_000);
    expect(sa.metadata?.name).toBe('default');
  });

  it('answers 403 to a service-account token without RBAC and 200 once a Role grants access', async () => {
    const namespace = ns.name;
    await createServiceAccount(namespace, 'reader');
    const token = await serviceAccountToken(namespace, 'reader');
    const asReader = kubeConfigForToken(token).makeApiClient(k8s.CoreV1Api);

    expect(await statusOf(asReader.listNamespacedSecret({ namespace }))).toMatchObject({ code: 403, status: { reason: 'Forbidden' } });

    const rbac = kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace, body: kubeObject<k8s.V1Role>({ metadata: { name: 'secret-reader' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] }) });
    await rbac.createNamespacedRoleBinding({ namespace, body: kubeObject<k8s.V1RoleBinding>({ metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }] }) });

    const res = await eventually('the RoleBinding to take effect', async () =>
      asReader.listNamespacedSecretWithHttpInfo({ namespace }), 10_000);
    expect(res.httpStatusCode).toBe(200);
    // the Role is namespaced: other namespaces and other verbs stay forbidden
    expect((await statusOf(asReader.listNamespacedSecret({ namespace: 'default' }))).code).toBe(403);
    expect((await statusOf(asReader.createNamespacedSecret({ namespace, body: kubeObject<k8s.V1Secret>({ metadata: { name: 'x' } }) }))).code).toBe(403);
  });
});
