import { describe, expect, it } from 'vitest';
import { MAX_SECRET_BYTES, checkSecretSize, expandLists, isSecretManifest, parseSecret, secretManifest } from '../../../src/format/secret.js';
import { expectSealboxError } from '../../helpers/errors.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const base = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod' } };
const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

const parsing = (v: unknown) => () => parseSecret(v, 'in.yaml document 1');

describe('isSecretManifest', () => {
  it.each([
    [base, true],
    [{ ...base, apiVersion: 'v2' }, false],
    [{ ...base, kind: 'ConfigMap' }, false],
    [{ ...base, kind: 'secret' }, false],
    [null, false],
    [[base], false],
    ['Secret', false],
  ])('says %j is %s', (v, want) => {
    expect(isSecretManifest(v)).toBe(want);
  });
});

describe('expandLists', () => {
  it('flattens v1 List items and passes other documents through', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ a: 1 }, { b: 2 }] };
    expect(expandLists([list, { c: 3 }])).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('refuses an object with "items" that is not a list, since Kubernetes reads it as a list', () => {
    expectSealboxError(() => expandLists([{ kind: 'List', items: 'nope' }], 'in.yaml document 1'), 'INPUT', /in\.yaml document 1: "items" must be a list/);
  });
});

describe('parseSecret', () => {
  it('reads data as base64 and stringData as UTF-8 text', () => {
    const s = parseSecret({ ...base, data: { bin: Buffer.from([0xff, 0x00, 0xfe]).toString('base64') }, stringData: { user: 'ädmin' } }, 'w');
    expect(s.data.get('bin')).toEqual(new Uint8Array([0xff, 0x00, 0xfe]));
    expect(text(s.data.get('user'))).toBe('ädmin');
    expect(s).toMatchObject({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {} });
  });

  it('lets stringData win over data on a shared key, as Kubernetes does', () => {
    const s = parseSecret({ ...base, data: { password: b64('from-data') }, stringData: { password: 'from-stringData' } }, 'w');
    expect(text(s.data.get('password'))).toBe('from-stringData');
    expect(s.data.size).toBe(1);
  });

  it('keeps empty values', () => {
    const s = parseSecret({ ...base, data: { a: '' }, stringData: { b: '' } }, 'w');
    expect([...s.data.entries()]).toEqual([
      ['a', new Uint8Array(0)],
      ['b', new Uint8Array(0)],
    ]);
  });

  it('keeps the type, immutability, labels and annotations', () => {
    const s = parseSecret(
      { ...base, metadata: { ...base.metadata, labels: { app: 'db' }, annotations: { note: 'x' } }, type: 'kubernetes.io/tls', immutable: true },
      'w',
    );
    expect(s).toMatchObject({ type: 'kubernetes.io/tls', immutable: true, labels: { app: 'db' }, annotations: { note: 'x' } });
  });

  it('accepts a Secret without a namespace or values', () => {
    expect(parseSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, 'w')).toMatchObject({ namespace: '', data: new Map() });
  });

  it.each([
    ['a ConfigMap', { ...base, kind: 'ConfigMap' }, 'is a ConfigMap, not a v1 Secret'],
    ['a Secret of another apiVersion', { ...base, apiVersion: 'v2' }, 'is a Secret, not a v1 Secret'],
    ['an untyped document', { metadata: { name: 'x' } }, 'is a untyped document, not a v1 Secret'],
    ['a list', [base], 'must be a mapping'],
    ['a string', 'hello', 'must be a mapping'],
    ['no name', { ...base, metadata: { namespace: 'prod' } }, 'metadata.name is missing'],
    ['an invalid name', { ...base, metadata: { name: 'DB' } }, 'metadata.name "DB" is not a valid name: use a DNS-1123 subdomain'],
    ['an invalid namespace', { ...base, metadata: { name: 'db', namespace: 'Prod_1' } }, 'metadata.namespace "Prod_1" is not a valid namespace'],
    ['metadata that is not a mapping', { ...base, metadata: 'db' }, 'metadata must be a mapping'],
    ['data that is not a mapping', { ...base, data: ['a'] }, 'data must be a mapping'],
    ['a data value that is not a string', { ...base, data: { a: 1 } }, 'data."a" must be a base64 string'],
    ['a data value that is not base64', { ...base, data: { password: 'hunter2!' } }, 'data."password" is not valid base64'],
    ['a stringData value that is not a string', { ...base, stringData: { a: 1 } }, 'stringData."a" must be a string'],
    ['a data key with a slash', { ...base, data: { 'a/b': '' } }, '"a/b" is not a valid Secret key'],
    ['a stringData key with a space', { ...base, stringData: { 'a b': 'x' } }, '"a b" is not a valid Secret key'],
    ['the data key ".."', { ...base, data: { '..': '' } }, '".." is not a valid Secret key'],
    ['an empty type', { ...base, type: '' }, 'type must be a string'],
    ['a numeric type', { ...base, type: 3 }, 'type must be a string'],
    ['a non-boolean immutable', { ...base, immutable: 'yes' }, 'immutable must be true or false'],
    ['a label that is not a string', { ...base, metadata: { name: 'db', labels: { a: 1 } } }, 'metadata.labels."a" must be a string'],
  ])('refuses %s as INPUT', (_what, doc, message) => {
    const err = expectSealboxError(parsing(doc), 'INPUT', message);
    expect(err.message).toMatch(/^in\.yaml document 1\b/);
  });

  it('names the document in every refusal', () => {
    expectSealboxError(parsing({ ...base, data: { a: '!' } }), 'INPUT', /^in\.yaml document 1: /);
  });

  it('never quotes a value that is not base64', () => {
    const err = expectSealboxError(parsing({ ...base, data: { password: 'plaintext-marker!' } }), 'INPUT', 'data."password" is not valid base64');
    expect(err.message).not.toContain('plaintext-marker');
  });

  it("refuses values over Kubernetes' 1 MiB limit", () => {
    const big = Buffer.alloc(MAX_SECRET_BYTES / 2 + 1).toString('base64');
    expectSealboxError(parsing({ ...base, data: { a: big, b: big } }), 'INPUT', /^in\.yaml document 1: values total 1048578 bytes, over Kubernetes' 1 MiB Secret limit; split the secret$/);
  });
});

describe('checkSecretSize', () => {
  it('accepts exactly 1 MiB and refuses one byte more', () => {
    expect(() => {
      checkSecretSize(new Map([['a', new Uint8Array(MAX_SECRET_BYTES)]]), 'w');
    }).not.toThrow();
    expectSealboxError(() => {
      checkSecretSize(new Map([['a', new Uint8Array(MAX_SECRET_BYTES)], ['b', new Uint8Array(1)]]), 'w');
    }, 'INPUT', `w: values total ${MAX_SECRET_BYTES + 1} bytes, over Kubernetes' 1 MiB Secret limit`);
  });
});

describe('secretManifest', () => {
  it('writes values back as base64 data and omits what is empty', () => {
    const doc = { ...base, type: 'Opaque', data: { a: b64('x'), b: Buffer.from([0xff]).toString('base64') } };
    expect(secretManifest(parseSecret(doc, 'w'))).toEqual(doc);
    const bare = secretManifest(parseSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, 'w'));
    expect(bare).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, type: 'Opaque', data: {} });
  });

  it.each(['data', 'stringData'])('refuses the key "__proto__" in %s as INPUT: the Kubernetes client library would drop it', (field) => {
    const doc: unknown = JSON.parse(`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "${field}": {"__proto__": "YQ=="}}`);
    expectSealboxError(() => parseSecret(doc, 'w'), 'INPUT', '"__proto__" is not a valid Secret key');
  });

  it('is the inverse of parseSecret for everything it carries', () => {
    const doc = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'prod', labels: { a: 'b' }, annotations: { c: 'd' } },
      type: 'kubernetes.io/basic-auth',
      immutable: false,
      data: { username: b64('u') },
    };
    expect(secretManifest(parseSecret(doc, 'w'))).toEqual(doc);
  });
});
