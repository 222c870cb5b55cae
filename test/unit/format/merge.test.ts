import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sealDocuments, unsealDocuments } from '../../../src/format/documents.js';
import { mergeSecretsInto } from '../../../src/format/merge.js';
import type { SecretData } from '../../../src/format/secret.js';
import { parseDocuments, stringifyDocuments } from '../../../src/format/yaml.js';
import { lineDiff } from '../../helpers/diff.js';
import { LocalKey } from '../../helpers/local-key.js';
import { expectSealboxError } from '../../helpers/errors.js';

const key = new LocalKey('merge');
const opts = { wrappers: [key] };
const MARKER = 'plaintext-marker-4e26';
let sealedYaml: string;

const update = (name: string, namespace: string, values: Record<string, string>): SecretData => ({
  name,
  namespace,
  type: 'Opaque',
  labels: {},
  annotations: {},
  data: new Map(Object.entries(values).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))])),
});

beforeAll(async () => {
  const input = ['db', 'api'].map((name) => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: prod}\nstringData: {a: ${name}-a, b: ${name}-b, c: ${name}-c}\n`);
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {x: y}\n';
  const docs = parseDocuments([input[0], cm, input[1]].join('---\n'), 'in.yaml');
  sealedYaml = stringifyDocuments(await sealDocuments(docs, 'in.yaml', { scope: 'strict', wrappers: [key] }), 'yaml');
});

/** The same documents written with other YAML layout options. */
function relayout(text: string, options: { indent?: number; indentSeq?: boolean }): string {
  return parseDocuments(text, 'x')
    .map((d) => stringify(d.value, { lineWidth: 0, minContentWidth: 0, ...options }))
    .join('---\n');
}

async function unsealText(text: string): Promise<Record<string, Record<string, string>>> {
  const out = (await unsealDocuments(parseDocuments(text, 'x'), 'x', [key])) as { kind: string; metadata: { name: string }; data?: Record<string, string> }[];
  return Object.fromEntries(
    out.filter((d) => d.kind === 'Secret').map((d) => [d.metadata.name, Object.fromEntries(Object.entries(d.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))]),
  );
}


describe('mergeSecretsInto', () => {
  it('replaces one value of one resource, leaving every other line of the file unchanged', async () => {
    const out = await mergeSecretsInto(sealedYaml, 'sealed.yaml', [update('api', 'prod', { b: 'api-b2' })], opts);
    const { removed, added } = lineDiff(sealedYaml, out);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^ {4}b: sb1:/);
    expect(added[0]).toMatch(/^ {4}b: sb1:/);
    expect(added.slice(1).join('\n')).toMatch(/^ {4}- group: [0-9a-f]{16}\n/);
    expect(await unsealText(out)).toEqual({
      db: { a: 'db-a', b: 'db-b', c: 'db-c' },
      api: { a: 'api-a', b: 'api-b2', c: 'api-c' },
    });
  });

  it('merges twice into the same resource from one call', async () => {
    const out = await mergeSecretsInto(sealedYaml, 'sealed.yaml', [update('db', 'prod', { a: '1' }), update('db', 'prod', { d: '4' })], opts);
    expect((await unsealText(out)).db).toEqual({ a: '1', b: 'db-b', c: 'db-c', d: '4' });
  });

  it('finds the resource by --namespace when the secret names none', async () => {
    const out = await mergeSecretsInto(sealedYaml, 'sealed.yaml', [update('db', '', { a: 'z' })], { ...opts, namespace: 'prod' });
    expect((await unsealText(out)).db?.a).toBe('z');
  });

  it('re-serialises a JSON file and keeps its values', async () => {
    const [db] = parseDocuments(sealedYaml, 'x');
    const json = stringifyDocuments([db?.value], 'json');
    const out = await mergeSecretsInto(json, 'sealed.json', [update('db', 'prod', { c: 'c2' })], opts);
    expect((await unsealText(out)).db).toEqual({ a: 'db-a', b: 'db-b', c: 'c2' });
    const before = JSON.parse(json) as { spec: { encryptedData: Record<string, string> } };
    const after = JSON.parse(out) as typeof before;
    expect(after.spec.encryptedData.a).toBe(before.spec.encryptedData.a);
  });

  it('merges into a JSON v1 List, which is what "seal --format json" writes for several secrets', async () => {
    const json = stringifyDocuments(parseDocuments(sealedYaml, 'x').map((d) => d.value), 'json');
    const out = await mergeSecretsInto(json, 'sealed.json', [update('api', 'prod', { c: 'c2' })], opts);
    expect((await unsealText(out)).api).toEqual({ a: 'api-a', b: 'api-b', c: 'c2' });
  });

  it.each([
    ['no resource has the name', update('nope', 'prod', { a: MARKER }), 'has no sealed secret matching secret "nope"'],
    ['no resource is in the namespace', update('db', 'staging', { a: MARKER }), 'has no sealed secret matching secret "db"'],
    ['several resources match a secret without a name', update('', 'prod', { a: MARKER }), 'has several sealed secrets matching the secret'],
    ['a key is not a valid Secret key', update('db', 'prod', { 'a/b': MARKER }), '"a/b" is not a valid Secret key'],
  ])('refuses to merge when %s', async (_what, secret, message) => {
    await expectSealboxError(mergeSecretsInto(sealedYaml, 'sealed.yaml', [secret], opts), 'INPUT', message, { secrets: [MARKER] });
  });

  it('refuses a target that is not a valid sealed file', async () => {
    await expectSealboxError(mergeSecretsInto('apiVersion: sealbox.dev/v1\nkind: SealedSecret\nspec: {}\n', 'bad.yaml', [update('db', 'prod', { a: MARKER })], opts), 'INPUT', /^bad\.yaml document 1\b/, { secrets: [MARKER] });
  });

  // A sealed file is often reformatted by the team's tools (kubectl-style
  // sequences, 4-space indent, Windows line endings). --merge-into must still
  // touch only the lines of the values it replaces.
  it.each([
    ['sequences not indented (kubectl style)', (t: string) => relayout(t, { indentSeq: false })],
    ['4-space indentation', (t: string) => relayout(t, { indent: 4 })],
    ['a comment after a key', (t: string) => t.replace('encryptedData:\n', 'encryptedData: # rotate yearly\n')],
    ['two spaces before a comment', (t: string) => t.replace('spec:\n', 'spec:  # sealed\n')],
    ['Windows line endings', (t: string) => t.replace(/\n/g, '\r\n')],
  ])('keeps untouched lines byte-identical in a file with %s', async (_layout, relayout) => {
    const text = relayout(sealedYaml);
    expect(await unsealText(text)).toEqual(await unsealText(sealedYaml));
    const out = await mergeSecretsInto(text, 'sealed.yaml', [update('db', 'prod', { a: 'a2' })], opts);
    const { removed } = lineDiff(text, out);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^\s+a: sb1:/);
  });
});
