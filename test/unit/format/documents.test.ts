import { describe, expect, it } from 'vitest';
import { describeDocument, placeSecret, sealDocuments, unsealDocuments } from '../../../src/format/documents.js';
import { parseSecret } from '../../../src/format/secret.js';
import { parseDocuments } from '../../../src/format/yaml.js';
import { LocalKey } from '../../helpers/local-key.js';
import { expectSealboxError } from '../../helpers/errors.js';

const key = new LocalKey('documents');
const MARKER = 'plaintext-marker-d0c5';
const opts = { scope: 'strict' as const, wrappers: [key] };
const docs = (text: string): ReturnType<typeof parseDocuments> => parseDocuments(text, 'in.yaml');


describe('describeDocument', () => {
  it.each([
    [{ metadata: { name: 'db', namespace: 'prod' } }, 'in.yaml document 2 ("prod/db")'],
    [{ metadata: { name: 'db' } }, 'in.yaml document 2 ("db")'],
    [{ metadata: { name: 5 } }, 'in.yaml document 2'],
    [{ metadata: 'x' }, 'in.yaml document 2'],
    ['text', 'in.yaml document 2'],
  ])('names %j as %s', (value, want) => {
    expect(describeDocument('in.yaml', 2, value)).toBe(want);
  });
});

describe('placeSecret', () => {
  const s = parseSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' } }, 'w');

  it('fills in a missing namespace and renames', () => {
    expect(placeSecret(s, { namespace: 'prod', name: 'db2' }, 'w')).toMatchObject({ namespace: 'prod', name: 'db2' });
  });

  it('agrees with a manifest that names the same namespace', () => {
    expect(placeSecret({ ...s, namespace: 'prod' }, { namespace: 'prod' }, 'w').namespace).toBe('prod');
  });

  it('refuses a --namespace that contradicts the manifest', () => {
    expect(() => placeSecret({ ...s, namespace: 'prod' }, { namespace: 'staging' }, 'w')).toThrow('manifest says namespace "prod" but "staging" is asked for');
  });
});

describe('sealDocuments', () => {
  const input = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata: {name: db, namespace: prod}',
    `stringData: {password: ${MARKER}}`,
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: {name: cfg}',
    'data: {a: b}',
    '---',
    'apiVersion: v1',
    'kind: List',
    'items:',
    '  - {apiVersion: v1, kind: Secret, metadata: {name: one, namespace: prod}, data: {x: eA==}}',
  ].join('\n');

  it('seals each Secret, passes other objects through, and keeps the order', async () => {
    const out = (await sealDocuments(docs(input), 'in.yaml', opts)) as Record<string, unknown>[];
    expect(out.map((d) => d.kind)).toEqual(['SealedSecret', 'ConfigMap', 'SealedSecret']);
    expect(out[1]).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 'b' } });
    expect(JSON.stringify(out)).not.toContain(MARKER);
  });

  it('round-trips through unsealDocuments', async () => {
    const sealed = await sealDocuments(docs(input), 'in.yaml', opts);
    const out = (await unsealDocuments(docs(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: sealed })), 'x', [key])) as { kind: string; metadata: object; data: Record<string, string> }[];
    expect(out.map((d) => d.kind)).toEqual(['Secret', 'ConfigMap', 'Secret']);
    expect(Buffer.from(out[0]?.data.password ?? '', 'base64').toString()).toBe(MARKER);
    expect(out[2]?.metadata).toEqual({ name: 'one', namespace: 'prod' });
  });

  it('passes an already sealed resource through unchanged', async () => {
    const [sealed] = await sealDocuments(docs(input), 'in.yaml', opts);
    expect(await sealDocuments(docs(JSON.stringify(sealed)), 'in.yaml', opts)).toEqual([sealed]);
  });

  it('applies --namespace and --name to a manifest without them', async () => {
    const [out] = (await sealDocuments(docs('apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {x: eA==}'), 'in.yaml', { ...opts, namespace: 'ns', name: 'b' })) as { metadata: object; spec: { dataKeys: { binding: string }[] } }[];
    expect(out?.metadata).toEqual({ name: 'b', namespace: 'ns' });
    expect(out?.spec.dataKeys[0]?.binding).toBe('strict/ns/b');
  });

  it.each([
    ['a secret of another apiVersion', 'apiVersion: v2\nkind: Secret\nmetadata: {name: a}\nstringData: {x: MARKER}', 'is a Secret, not a v1 Secret'],
    ['a lowercase "secret" kind', 'apiVersion: v1\nkind: secret\nmetadata: {name: a}\nstringData: {x: MARKER}', 'is a secret, not a v1 Secret'],
    ['a secret with a bad value', 'apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\ndata: {x: MARKER}', 'is not valid base64'],
    ['a bare mapping', 'password: MARKER', 'is not a Kubernetes object'],
    ['a list at the top', '- MARKER', 'is not a Kubernetes object'],
    ['a strict secret with no namespace', 'apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {x: MARKER}', 'no namespace'],
  ])('refuses %s rather than pass plaintext through', async (_what, text, message) => {
    const err = await expectSealboxError(sealDocuments(docs(text.replace('MARKER', MARKER)), 'in.yaml', opts), 'INPUT', message, { secrets: [MARKER] });
    expect(err.message).toMatch(/^in\.yaml document 1/);
  });
});

describe('unsealDocuments', () => {
  it('names the file, the document and the resource in an error', async () => {
    const sealed = await sealDocuments(docs(`apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {a: ${MARKER}}`), 'in.yaml', opts);
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${JSON.stringify(sealed[0])}`;
    await expectSealboxError(unsealDocuments(docs(text), 'prod.yaml', [new LocalKey('someone-else')]), 'NO_KEY', /^prod\.yaml document 2 \("prod\/db"\): none of your keys/, { secrets: [MARKER] });
  });
});
