import { beforeAll, describe, expect, it } from 'vitest';
import { sealDocuments } from '../../../src/format/documents.js';
import { mergeIntoSealed } from '../../../src/format/seal.js';
import { parseSealedSecret, sealedManifest } from '../../../src/format/sealed.js';
import { verifyDocuments } from '../../../src/format/verify.js';
import { parseDocuments } from '../../../src/format/yaml.js';
import { LocalKey } from '../../helpers/local-key.js';
import type { Path } from '../../helpers/paths.js';
import { withPath } from '../../helpers/paths.js';

const key = new LocalKey('verify');
const MARKER = 'plaintext-marker-7a11';
let sealed: { metadata: { namespace: string }; spec: { dataKeys: object[] } };

beforeAll(async () => {
  const docs = parseDocuments(`apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {a: ${MARKER}, b: x}\n`, 'in.yaml');
  [sealed] = (await sealDocuments(docs, 'in.yaml', { scope: 'strict', wrappers: [key] })) as [typeof sealed];
});

const docsOf = (...values: unknown[]): ReturnType<typeof parseDocuments> => parseDocuments(values.map((v) => JSON.stringify(v)).join('\n---\n'), 'f.yaml');
const secret = (extra: object): object => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, ...extra });

describe('verifyDocuments', () => {
  it('finds nothing in sealed resources, other objects and Secrets without values', () => {
    const docs = docsOf(sealed, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }, secret({}), secret({ data: {} }));
    expect(verifyDocuments('f.yaml', docs)).toEqual([]);
  });

  it.each([
    ['data', secret({ data: { a: 'eA==', b: 'eQ==' } }), 2],
    ['stringData', secret({ stringData: { a: MARKER } }), 1],
    ['both', secret({ data: { a: 'eA==' }, stringData: { b: MARKER } }), 2],
  ])('flags a plaintext Secret with %s, counting its values', (_what, doc, count) => {
    const findings = verifyDocuments('f.yaml', docsOf(sealed, doc));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ source: 'f.yaml', document: 2 });
    expect(findings[0]?.message).toContain(`plaintext Secret with ${count} value(s)`);
    expect(findings[0]?.message).not.toContain(MARKER);
  });

  it('flags a plaintext Secret inside a v1 List', () => {
    const findings = verifyDocuments('f.yaml', docsOf({ apiVersion: 'v1', kind: 'List', items: [secret({ data: { a: 'eA==' } })] }));
    expect(findings.map((f) => f.document)).toEqual([1]);
  });

  it.each<[string, Path, unknown, string]>([
    ['a malformed sealed resource', ['spec', 'scope'], 'everywhere', 'spec.scope must be strict, namespace or cluster'],
    ['a value of a group the resource lacks', ['spec', 'dataKeys'], [], 'copied from another sealed secret'],
    ['a resource moved to another namespace', ['metadata', 'namespace'], 'staging', 'is bound to namespace "prod" but was found in "staging"'],
    ['a renamed strict resource', ['metadata', 'name'], 'db2', 'is bound to secret name "db"'],
    ['a newer format version', ['apiVersion'], 'sealbox.dev/v2', 'upgrade sealbox'],
  ])('flags %s', (_what, path, value, message) => {
    const findings = verifyDocuments('f.yaml', docsOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, withPath(sealed, path, value)));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ source: 'f.yaml', document: 2 });
    expect(findings[0]?.message).toContain(message);
  });

  it('flags a group that holds no value', () => {
    const m = withPath(sealed, ['spec', 'dataKeys', 1], { ...sealed.spec.dataKeys[0], group: 'ffffffffffffffff' });
    const [finding, ...rest] = verifyDocuments('f.yaml', docsOf(m));
    expect(rest).toEqual([]);
    expect(finding?.message).toBe('data-key group ffffffffffffffff holds no value; remove it (sealbox rotate does)');
  });

  it('flags groups sealed for different recipients', async () => {
    const merged = await mergeIntoSealed(parseSealedSecret(sealed, 'w'), new Map([['c', new Uint8Array(1)]]), { wrappers: [new LocalKey('other')] });
    const findings = verifyDocuments('f.yaml', docsOf(sealedManifest(merged)));
    expect(findings).toHaveLength(1);
    expect(findings[0]?.message).toContain('data-key groups have different recipients');
  });

  it('accepts groups that list the same recipients in another order', async () => {
    const other = new LocalKey('other');
    const both = await sealDocuments(docsOf(secret({ metadata: { name: 'x', namespace: 'p' }, data: { a: 'eA==' } })), 'f', { scope: 'strict', wrappers: [key, other] });
    const merged = await mergeIntoSealed(parseSealedSecret(both[0], 'w'), new Map([['b', new Uint8Array(1)]]), { wrappers: [other, key] });
    expect(verifyDocuments('f.yaml', docsOf(sealedManifest(merged)))).toEqual([]);
  });

  it('reports one finding per problem document, with its index', () => {
    const bad = withPath(sealed, ['metadata', 'namespace'], 'x');
    const findings = verifyDocuments('f.yaml', docsOf(secret({ data: { a: 'eA==' } }), sealed, bad, secret({ stringData: { a: 'b' } })));
    expect(findings.map((f) => f.document)).toEqual([1, 3, 4]);
  });
});
