// Item 1 of issue 11: no plaintext leaves `seal` in a cleartext field, and
// `verify` applies the same rules to files in a repository.
import { beforeAll, describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { sealDocuments } from '../../../src/format/documents.js';
import { verifyDocuments } from '../../../src/format/verify.js';
import { parseDocuments, stringifyDocuments } from '../../../src/format/yaml.js';
import { LocalKey } from '../../helpers/local-key.js';

const key = new LocalKey('seal-leaks');
const MARKER = 'plaintext-marker-5ea1';
const B64 = Buffer.from(MARKER).toString('base64');
const opts = { scope: 'strict' as const, wrappers: [key] };
const docs = (...values: unknown[]): ReturnType<typeof parseDocuments> => parseDocuments(values.map((v) => JSON.stringify(v)).join('\n---\n'), 'in.yaml');
const secret = (name: string, extra: object = {}): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'prod' }, stringData: { password: `${MARKER}-${name}` }, ...extra });

/** `kubectl get secret db -o yaml` after `kubectl apply`: server fields and the last-applied copy. */
const fromCluster = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'db',
    namespace: 'prod',
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { annotations: {}, name: 'db', namespace: 'prod' }, stringData: { password: MARKER } }),
      'kubecfg.ksonnet.io/last-applied-configuration': JSON.stringify({ data: { password: B64 } }),
      team: 'payments',
    },
    labels: { app: 'db' },
    uid: '6f5c0289-4f5f-4933-8a18-bc780091ca4d',
    resourceVersion: '42090',
    generation: 1,
    creationTimestamp: '2021-09-16T22:57:56Z',
    deletionTimestamp: '2021-09-17T22:57:56Z',
    deletionGracePeriodSeconds: 30,
    selfLink: '/api/v1/namespaces/prod/secrets/db',
    managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:data': { 'f:password': {} } } }],
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u' }],
    finalizers: ['example.com/keep'],
  },
  type: 'Opaque',
  data: { password: B64 },
};

async function sealedText(...values: unknown[]): Promise<string> {
  return stringifyDocuments(await sealDocuments(docs(...values), 'in.yaml', opts), 'yaml');
}

describe('seal strips what Kubernetes and kubectl manage', () => {
  it('seals a Secret as kubectl get returns it without the last-applied copies or any server-filled field', async () => {
    const [out] = (await sealDocuments(docs(fromCluster), 'in.yaml', opts)) as [{ metadata: object; spec: { template: object } }];
    expect(out.metadata).toEqual({ name: 'db', namespace: 'prod' });
    expect(out.spec.template).toEqual({ type: 'Opaque', metadata: { labels: { app: 'db' }, annotations: { team: 'payments' } } });
    const text = await sealedText(fromCluster);
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain(B64);
  });
});

describe('seal seals every Secret of any list shape', () => {
  it.each<[string, unknown]>([
    ['a SecretList, as the raw API returns', { apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: '7' }, items: [secret('a'), secret('b')] }],
    ['an object with items and no kind', { items: [secret('a'), secret('b')] }],
    ['a List inside a List', { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'List', items: [secret('a')] }, secret('b')] }],
  ])('seals both Secrets of %s', async (_what, list) => {
    const out = (await sealDocuments(docs(list), 'in.yaml', opts)) as { kind: string; metadata: { name: string } }[];
    expect(out.map((o) => [o.kind, o.metadata.name])).toEqual([['SealedSecret', 'a'], ['SealedSecret', 'b']]);
    expect(stringifyDocuments(out, 'yaml')).not.toContain(MARKER);
  });

  it.each<[string, unknown, RegExp]>([
    ['a Secret nested in another object', { apiVersion: 'template.openshift.io/v1', kind: 'Template', metadata: { name: 't' }, objects: [secret('a')] }, /holds a Secret with values at objects\[0\]/],
    ['a Secret as JSON in an annotation of another object', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { copy: JSON.stringify(secret('a')) } } }, /metadata\.annotations\.copy \(JSON\)/],
    ['a Secret as JSON in an annotation of a Secret', secret('b', { metadata: { name: 'b', namespace: 'prod', annotations: { 'kapp.k14s.io/other': JSON.stringify(secret('a')) } } }), /holds a Secret with values at metadata\.annotations/],
    ['a list that is also something else', { apiVersion: 'v1', kind: 'SecretList', items: [secret('a')], data: { x: 'eA==' } }, /also has "data"/],
  ])('refuses %s', async (_what, doc, message) => {
    const err = await sealDocuments(docs(doc), 'in.yaml', opts).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
    expect((err as SealboxError).message).toMatch(message);
    expect((err as SealboxError).message).not.toContain(MARKER);
  });
});

describe('verify applies the same rules to a repository', () => {
  let sealed: Record<string, unknown>;
  beforeAll(async () => {
    [sealed] = (await sealDocuments(docs(secret('db')), 'in.yaml', opts)) as [Record<string, unknown>];
  });

  it.each<[string, unknown]>([
    ['a SecretList', { apiVersion: 'v1', kind: 'SecretList', items: [secret('a')] }],
    ['an object with items and no kind', { items: [secret('a')] }],
    ['a List inside a List', { kind: 'List', items: [{ kind: 'List', items: [secret('a')] }] }],
  ])('flags the plaintext Secret inside %s', (_what, list) => {
    const findings = verifyDocuments('f.yaml', docs(list));
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('plaintext Secret with 1 value(s)')]);
  });

  it('flags a Secret nested in another object and one hidden in a last-applied annotation', () => {
    const template = { apiVersion: 'template.openshift.io/v1', kind: 'Template', metadata: { name: 't' }, objects: [secret('a')] };
    const { data: _data, ...emptied } = fromCluster;
    const findings = verifyDocuments('f.yaml', docs(template, emptied));
    expect(findings.map((f) => [f.document, f.message])).toEqual([
      [1, expect.stringContaining('plaintext Secret with values at objects[0]')],
      [2, expect.stringContaining('plaintext Secret with values at metadata.annotations."kubectl.kubernetes.io/last-applied-configuration" (JSON)')],
    ]);
    expect(findings.map((f) => f.message).join('\n')).not.toContain(MARKER);
  });

  it('flags a sealed resource whose template carries a last-applied copy, or whose metadata came from a cluster', () => {
    const spec = sealed.spec as { template: object };
    const leaky = { ...sealed, spec: { ...spec, template: { ...spec.template, metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } } } } };
    const copied = { ...sealed, metadata: { ...(sealed.metadata as object), uid: 'u', resourceVersion: '5' } };
    const findings = verifyDocuments('f.yaml', docs(leaky, copied, sealed));
    expect(findings.map((f) => [f.document, f.message])).toEqual([
      [1, expect.stringMatching(/spec\.template annotation kubectl\.kubernetes\.io\/last-applied-configuration.*treat those as leaked/)],
      [2, expect.stringContaining('(metadata.uid, metadata.resourceVersion)')],
    ]);
  });

  it('reports a malformed list instead of skipping it', () => {
    expect(verifyDocuments('f.yaml', docs({ kind: 'SecretList', items: { a: secret('a') } })).map((f) => f.message)).toEqual([expect.stringContaining('"items" must be a list')]);
  });
});
