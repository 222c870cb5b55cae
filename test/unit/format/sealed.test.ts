import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../src/errors.js';
import { LIMITS, groupManifest, isSealedManifest, parseSealedSecret, sealedManifest } from '../../../src/format/sealed.js';
import { MAX_SECRET_BYTES } from '../../../src/format/secret.js';
import { parseDocuments, stringifyDocuments } from '../../../src/format/yaml.js';
import { expectSealboxError } from '../../helpers/errors.js';
import { sealedSecretArb } from '../../helpers/arbitraries.js';
import type { Path } from '../../helpers/paths.js';
import { DELETE, withPath } from '../../helpers/paths.js';

const G = '0123456789abcdef';
const FP = 'ab'.repeat(32);
const C = 'cd'.repeat(32);
const VALUE = `sb1:${G}:${Buffer.alloc(40, 1).toString('base64')}`;
const recipient = { type: 'cert', id: FP, wrapped: Buffer.alloc(256, 2).toString('base64') };

/** A valid sealed manifest. */
const valid = {
  apiVersion: 'sealbox.dev/v1',
  kind: 'SealedSecret',
  metadata: { name: 'db', namespace: 'prod', labels: { team: 'a' } },
  spec: {
    scope: 'strict',
    template: { type: 'Opaque', immutable: true, metadata: { labels: { app: 'db' }, annotations: { n: 'x' } } },
    encryptedData: { password: VALUE },
    dataKeys: [{ group: G, commitment: C, binding: 'strict/prod/db', recipients: [recipient] }],
  },
};
const group0 = valid.spec.dataKeys[0];
const R0 = ['spec', 'dataKeys', 0, 'recipients', 0] as const;

const parsing = (v: unknown) => () => parseSealedSecret(v, 'sealed.yaml document 1');

const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const hex16 = (i: number): string => i.toString(16).padStart(16, '0');

describe('isSealedManifest', () => {
  it.each([
    [valid, true],
    [withPath(valid, ['apiVersion'], 'sealbox.dev/v2'), true],
    [withPath(valid, ['apiVersion'], 'bitnami.com/v1alpha1'), false],
    [withPath(valid, ['kind'], 'Secret'), false],
    [{ kind: 'SealedSecret' }, false],
    [null, false],
  ])('says %j is %s', (v, want) => {
    expect(isSealedManifest(v)).toBe(want);
  });
});

describe('parseSealedSecret', () => {
  it('reads every field of a valid resource', () => {
    const s = parseSealedSecret(valid, 'w');
    expect(s).toMatchObject({ name: 'db', namespace: 'prod', labels: { team: 'a' }, annotations: {}, scope: 'strict' });
    expect(s.template).toEqual({ type: 'Opaque', immutable: true, labels: { app: 'db' }, annotations: { n: 'x' } });
    expect(s.encryptedData.get('password')?.groupId).toBe(G);
    expect(s.dataKeys).toEqual([{ id: G, commitment: C, binding: 'strict/prod/db', recipients: [{ type: 'cert', id: FP, wrapped: new Uint8Array(256).fill(2) }] }]);
  });

  it('accepts a resource with no values, no groups and no template', () => {
    const s = parseSealedSecret(withPath(valid, ['spec'], { scope: 'cluster' }), 'w');
    expect(s).toMatchObject({ scope: 'cluster', encryptedData: new Map(), dataKeys: [], template: { type: 'Opaque', labels: {}, annotations: {} } });
  });

  it.each<[string, Path, unknown, ErrorCode, string]>([
    ['another apiVersion', ['apiVersion'], 'sealbox.dev/v2', 'INPUT', 'upgrade sealbox'],
    ['another kind', ['kind'], 'Secret', 'INPUT', 'not sealbox.dev/v1 SealedSecret'],
    // YAML "apiVersion: {toString: 1}" parses to this; String() of it throws a TypeError
    ['an apiVersion that is a mapping with a toString key', ['apiVersion'], { toString: 1 }, 'INPUT', 'not sealbox.dev/v1 SealedSecret'],
    ['a kind that is a list', ['kind'], ['SealedSecret'], 'INPUT', 'not sealbox.dev/v1 SealedSecret'],
    ['metadata that is not a mapping', ['metadata'], [], 'INPUT', 'metadata must be a mapping'],
    ['no name', ['metadata', 'name'], DELETE, 'INPUT', 'metadata.name is missing or invalid'],
    ['an invalid name', ['metadata', 'name'], 'DB', 'INPUT', 'metadata.name is missing or invalid'],
    ['an empty namespace', ['metadata', 'namespace'], '', 'INPUT', 'metadata.namespace must be a non-empty string'],
    ['a numeric namespace', ['metadata', 'namespace'], 5, 'INPUT', 'metadata.namespace must be a non-empty string'],
    ['an invalid namespace', ['metadata', 'namespace'], 'a.b', 'INPUT', 'metadata.namespace "a.b" is not a valid namespace'],
    ['a label that is not a string', ['metadata', 'labels'], { a: true }, 'INPUT', 'metadata.labels."a" must be a string'],
    ['no spec', ['spec'], DELETE, 'INPUT', 'spec must be a mapping'],
    ['an unknown spec field', ['spec', 'data'], {}, 'INPUT', 'spec has unknown field "data"'],
    ['an unknown scope', ['spec', 'scope'], 'global', 'INPUT', 'spec.scope must be strict, namespace or cluster'],
    ['no scope', ['spec', 'scope'], DELETE, 'INPUT', 'spec.scope must be'],
    ['a template that is not a mapping', ['spec', 'template'], 'Opaque', 'INPUT', 'spec.template must be a mapping'],
    ['an unknown template field', ['spec', 'template', 'data'], {}, 'INPUT', 'spec.template has unknown field "data"'],
    ['an unknown template metadata field', ['spec', 'template', 'metadata', 'name'], 'x', 'INPUT', 'spec.template.metadata has unknown field "name"'],
    ['an empty template type', ['spec', 'template', 'type'], '', 'INPUT', 'spec.template.type must be a non-empty string'],
    ['a template immutable that is not boolean', ['spec', 'template', 'immutable'], 'true', 'INPUT', 'immutable must be true or false'],
    ['a template annotation that is not a string', ['spec', 'template', 'metadata', 'annotations'], { a: 1 }, 'INPUT', 'annotations."a" must be a string'],
    ['encryptedData that is not a mapping', ['spec', 'encryptedData'], [VALUE], 'INPUT', 'spec.encryptedData must be a mapping'],
    ['an invalid value key', ['spec', 'encryptedData'], { 'a/b': VALUE }, 'INPUT', 'value "a/b" has an invalid key name'],
    ['a value that is not a string', ['spec', 'encryptedData', 'password'], 1, 'INPUT', 'value "password" must be a string'],
    ['a plaintext value', ['spec', 'encryptedData', 'password'], 'hunter2', 'INPUT', 'value "password" is not a sealed value'],
    ['a truncated value', ['spec', 'encryptedData', 'password'], `sb1:${G}:AAAA`, 'INPUT', 'value "password" is truncated'],
    ['a value of a group the resource does not have', ['spec', 'encryptedData', 'password'], VALUE.replace(G, 'f'.repeat(16)), 'SCOPE', 'copied from another sealed secret'],
    ['dataKeys that is not a list', ['spec', 'dataKeys'], {}, 'INPUT', 'spec.dataKeys must be a list'],
    ['a group that is not a mapping', ['spec', 'dataKeys'], ['x'], 'INPUT', 'spec.dataKeys[0] must be a mapping'],
    ['an unknown group field', ['spec', 'dataKeys', 0, 'note'], 'x', 'INPUT', 'spec.dataKeys[0] has unknown field "note"'],
    ['a group without an id', ['spec', 'dataKeys', 0, 'group'], DELETE, 'INPUT', 'spec.dataKeys[0].group must be a non-empty string'],
    ['an uppercase group id', ['spec', 'dataKeys', 0, 'group'], G.toUpperCase(), 'INPUT', 'group must be 16 lowercase hex digits'],
    ['a group listed twice', ['spec', 'dataKeys', 1], group0, 'INPUT', `spec.dataKeys[1].group ${G} appears twice`],
    ['a group without a key commitment', ['spec', 'dataKeys', 0, 'commitment'], DELETE, 'INPUT', 'spec.dataKeys[0].commitment must be a non-empty string'],
    ['a key commitment of 96 bits', ['spec', 'dataKeys', 0, 'commitment'], C.slice(0, 24), 'INPUT', 'commitment must be 64 lowercase hex digits'],
    ['an uppercase key commitment', ['spec', 'dataKeys', 0, 'commitment'], C.toUpperCase(), 'INPUT', 'commitment must be 64 lowercase hex digits'],
    ['a group without a binding', ['spec', 'dataKeys', 0, 'binding'], DELETE, 'INPUT', 'spec.dataKeys[0].binding must be a non-empty string'],
    ['a group without recipients', ['spec', 'dataKeys', 0, 'recipients'], [], 'INPUT', 'recipients must be a non-empty list'],
    ['recipients that are not a list', ['spec', 'dataKeys', 0, 'recipients'], recipient, 'INPUT', 'recipients must be a non-empty list'],
    ['a recipient that is not a mapping', ['spec', 'dataKeys', 0, 'recipients'], ['x'], 'INPUT', 'recipients[0] must be a mapping'],
    ['an unknown recipient field', [...R0, 'label'], 'x', 'INPUT', 'recipients[0] has unknown field "label"'],
    ['an unknown recipient type', [...R0, 'type'], 'gcp-kms', 'INPUT', 'recipients[0].type must be one of cert, aws-kms, azure-kv'],
    ['a recipient without an id', [...R0, 'id'], DELETE, 'INPUT', 'recipients[0].id must be a non-empty string'],
    ['a cert id that is not a fingerprint', [...R0, 'id'], FP.toUpperCase(), 'INPUT', 'SHA-256 fingerprint'],
    ['a recipient id that is too long', [...R0], { ...recipient, type: 'aws-kms', id: 'a'.repeat(LIMITS.idChars + 1) }, 'INPUT', 'id is too long'],
    ['a recipient without wrapped bytes', [...R0, 'wrapped'], DELETE, 'INPUT', 'wrapped must be a non-empty string'],
    ['wrapped bytes that are not base64', [...R0, 'wrapped'], 'not base64!', 'INPUT', 'recipients[0].wrapped is not valid base64'],
    ['wrapped bytes over the limit', [...R0, 'wrapped'], Buffer.alloc(LIMITS.wrappedBytes + 16).toString('base64'), 'INPUT', 'wrapped is too long'],
  ])('refuses %s', (_what, path, value, code, message) => {
    const err = expectSealboxError(parsing(withPath(valid, path, value)), code, message);
    expect(err.message).toMatch(/^sealed\.yaml document 1/);
  });

  it.each<[string, Path, unknown, string]>([
    ['groups', ['spec', 'dataKeys'], many(LIMITS.groups + 1, (i) => ({ group: hex16(i), binding: 'b', recipients: [recipient] })), 'more than 1000 data-key groups'],
    ['recipients', ['spec', 'dataKeys', 0, 'recipients'], many(LIMITS.recipients + 1, () => recipient), 'more than 100 recipients'],
    ['values', ['spec', 'encryptedData'], Object.fromEntries(many(LIMITS.values + 1, (i) => [`k${i}`, VALUE])), 'more than 10000 values'],
  ])('refuses more %s than the limit', (_what, path, value, message) => {
    expectSealboxError(parsing(withPath(valid, path, value)), 'INPUT', message);
  });

  // Each limit of LIMITS at exactly its value, and one past it (refused, so the
  // accepted case really sits on the boundary).
  const groups = (n: number): unknown => withPath(valid, ['spec', 'dataKeys'], many(n, (i) => ({ ...group0, group: i === 0 ? G : hex16(i) })));
  const recipients = (n: number): unknown => withPath(valid, ['spec', 'dataKeys', 0, 'recipients'], many(n, () => recipient));
  const values = (n: number): unknown => withPath(valid, ['spec', 'encryptedData'], Object.fromEntries(many(n, (i) => [`k${i}`, VALUE])));
  const recipientField = (field: string, f: (n: number) => unknown) => (n: number): unknown => withPath(valid, [...R0], { ...recipient, type: 'aws-kms', [field]: f(n) });
  const meta = (field: 'labels' | 'annotations', f: (n: number) => Record<string, string>) => (n: number): unknown => withPath(valid, ['spec', 'template', 'metadata', field], f(n));
  const entries = (n: number): Record<string, string> => Object.fromEntries(many(n, (i) => [`a${i}`, 'v']));
  // annotations of n characters in all, keys included: "a" and n-1 characters of value
  const annotationChars = (n: number): Record<string, string> => ({ a: 'v'.repeat(n - 1) });
  // the base64 of a plaintext of n bytes, sealed: overhead KEY_CHECK + NONCE + TAG = 32 bytes
  const plaintextBytes = (n: number): unknown => withPath(valid, ['spec', 'encryptedData', 'password'], `sb1:${G}:${Buffer.alloc(n + 32, 1).toString('base64')}`);
  it.each<[string, number, (n: number) => unknown, string, number?]>([
    ['groups', LIMITS.groups, groups, 'more than 1000 data-key groups'],
    ['recipients of a group', LIMITS.recipients, recipients, 'more than 100 recipients'],
    ['values', LIMITS.values, values, 'more than 10000 values'],
    // the wrapped text is checked by its length, and 8193 bytes have the same base64 length as 8192: the next length is refused
    ['wrapped bytes', LIMITS.wrappedBytes, recipientField('wrapped', (n) => Buffer.alloc(n, 2).toString('base64')), 'recipients[0].wrapped is too long', 3],
    ['recipient id characters', LIMITS.idChars, recipientField('id', (n) => 'a'.repeat(n)), 'recipients[0].id is too long'],
    ['binding characters', LIMITS.bindingChars, (n) => withPath(valid, ['spec', 'dataKeys', 0, 'binding'], 'b'.repeat(n)), 'binding is longer than 324 characters'],
    ['template type characters', LIMITS.typeChars, (n) => withPath(valid, ['spec', 'template', 'type'], 't'.repeat(n)), 'spec.template.type is longer than 253 characters'],
    ['template labels', LIMITS.metadataEntries, meta('labels', entries), 'labels: more than 256 entries'],
    ['template annotations', LIMITS.metadataEntries, meta('annotations', entries), 'annotations: more than 256 entries'],
    ['template key characters', LIMITS.metadataKeyChars, meta('labels', (n) => ({ ['k'.repeat(n)]: 'v' })), 'is longer than 317 characters'],
    ['template label value characters', LIMITS.labelValueChars, meta('labels', (n) => ({ a: 'v'.repeat(n) })), 'labels."a" is longer than 63 characters'],
    ['template annotation characters in all', LIMITS.annotationBytes, meta('annotations', annotationChars), 'more than 262144 characters in all'],
    // a value's length bound (LIMITS.valueChars) sits just above the longest valid value, a 1 MiB plaintext
    ['plaintext bytes of a value', MAX_SECRET_BYTES, plaintextBytes, `values total ${MAX_SECRET_BYTES + 1} bytes, over Kubernetes' 1 MiB Secret limit`],
  ])('accepts exactly the limit of %s (%i) and refuses one more', (_what, limit, make, message, over = 1) => {
    expect(() => parseSealedSecret(make(limit), 'w')).not.toThrow();
    expectSealboxError(parsing(make(limit + over)), 'INPUT', message);
  });

  it('keeps hostile field names short in messages', () => {
    const err = expectSealboxError(parsing(withPath(valid, ['spec', `x${'y'.repeat(10_000)}`], 1)), 'INPUT', /^sealed\.yaml document 1 spec has unknown field "xy{63}…\(\+9937 chars\)"; allowed: /);
    expect(err.message.length).toBeLessThan(300);
  });
});

describe('the template a sealed resource asks the controller to write', () => {
  const TEMPLATE = ['spec', 'template'] as const;
  it.each<[string, Path, unknown, string]>([
    ['a service-account-token type', [...TEMPLATE, 'type'], 'kubernetes.io/service-account-token', 'spec.template.type "kubernetes.io/service-account-token" is refused'],
    ['the sealing-key label', [...TEMPLATE, 'metadata', 'labels'], { 'sealbox.dev/sealing-key': 'true' }, 'spec.template.metadata.labels "sealbox.dev/sealing-key" uses the prefix sealbox.dev/'],
    ['a created-at annotation', [...TEMPLATE, 'metadata', 'annotations'], { 'sealbox.dev/created-at': '2999-01-01T00:00:00Z' }, 'spec.template.metadata.annotations "sealbox.dev/created-at"'],
    ['the managed-by label', [...TEMPLATE, 'metadata', 'labels'], { 'sealbox.dev/managed-by': 'sealbox' }, '"sealbox.dev/managed-by" uses the prefix'],
    ['a subdomain of the prefix', [...TEMPLATE, 'metadata', 'labels'], { 'keys.SEALBOX.dev/x': 'y' }, '"keys.SEALBOX.dev/x"'],
  ])('refuses %s as INPUT, saying which field', (_what, path, value, message) => {
    expectSealboxError(parsing(withPath(valid, path, value)), 'INPUT', message);
  });

  it.each([
    ['a look-alike prefix', { 'notsealbox.dev/x': 'y', 'sealbox.dev.example.com/x': 'y', 'sealbox.dev': 'no slash' }],
    ['other Kubernetes types', { app: 'db' }],
  ])('accepts %s', (_what, labels) => {
    expect(parseSealedSecret(withPath(withPath(valid, ['spec', 'template', 'metadata', 'labels'], labels), ['spec', 'template', 'type'], 'kubernetes.io/tls'), 'w').template.labels).toEqual(labels);
  });
});

describe('sealedManifest', () => {
  it('is the inverse of parseSealedSecret on a resource sealbox wrote', () => {
    expect(sealedManifest(parseSealedSecret(valid, 'w'))).toEqual(valid);
  });

  it('refuses the key "__proto__", which the Kubernetes client library drops when it writes a Secret', () => {
    expectSealboxError(parsing(withPath(valid, ['spec', 'encryptedData'], JSON.parse(`{"__proto__": "${VALUE}"}`))), 'INPUT', 'value "__proto__" has an invalid key name');
  });

  it('writes a group with base64 wrapped keys', () => {
    expect(groupManifest({ id: G, commitment: C, binding: 'cluster', recipients: [{ type: 'cert', id: FP, wrapped: new Uint8Array([1, 2, 3]) }] })).toEqual({
      group: G,
      commitment: C,
      binding: 'cluster',
      recipients: [{ type: 'cert', id: FP, wrapped: 'AQID' }],
    });
  });

  it('round-trips any resource through parseSealedSecret (property)', () => {
    fc.assert(
      fc.property(sealedSecretArb, (s) => {
        expect(parseSealedSecret(sealedManifest(s), 'w')).toEqual(s);
      }),
    );
  });

  it('round-trips any resource through YAML and JSON text (property)', () => {
    fc.assert(
      fc.property(sealedSecretArb, fc.constantFrom('yaml' as const, 'json' as const), (s, format) => {
        const [doc] = parseDocuments(stringifyDocuments([sealedManifest(s)], format), 'w');
        expect(parseSealedSecret(doc?.value, 'w')).toEqual(s);
      }),
    );
  });
});

describe('parseSealedSecret: the CRD bounds, checked again (issue 11, item 6a)', () => {
  const template = (metadata: unknown): unknown => withPath(valid, ['spec', 'template', 'metadata'], metadata);
  it.each<[string, unknown, string]>([
    ['a binding longer than any valid one', withPath(valid, ['spec', 'dataKeys', 0, 'binding'], `strict/prod/${'d'.repeat(LIMITS.bindingChars)}`), 'binding is longer than 324 characters'],
    ['a 1.2 MB binding', withPath(valid, ['spec', 'dataKeys', 0, 'binding'], 'x'.repeat(1_200_000)), 'binding is longer than 324 characters'],
    ['a template type longer than 253 characters', withPath(valid, ['spec', 'template', 'type'], 't'.repeat(254)), 'spec.template.type is longer than 253 characters'],
    ['a template label value longer than 63 characters', template({ labels: { a: 'v'.repeat(64) } }), 'labels."a" is longer than 63 characters'],
    ['a template label key longer than 317 characters', template({ labels: { ['k'.repeat(318)]: 'v' } }), 'is longer than 317 characters'],
    ['more than 256 template annotations', template({ annotations: Object.fromEntries(many(257, (i) => [`a${i}`, 'v'])) }), 'more than 256 entries'],
    ['template annotations over 256 KiB in all', template({ annotations: { a: 'v'.repeat(200_000), b: 'v'.repeat(100_000) } }), 'more than 262144 characters in all'],
    ['a sealed value longer than a 1 MiB Secret value', withPath(valid, ['spec', 'encryptedData', 'password'], `sb1:${G}:${'A'.repeat(LIMITS.valueChars)}`), 'value "password" is longer than a 1 MiB Secret value'],
  ])('refuses %s as INPUT, quoting no more than a bounded part of it', (_name, doc, message) => {
    const err = expectSealboxError(parsing(doc), 'INPUT', message);
    expect(err.message.length).toBeLessThan(400);
  });

  it('accepts values at the bounds', () => {
    const s = parseSealedSecret(template({ labels: { ['k'.repeat(317)]: 'v'.repeat(63) }, annotations: { a: 'v'.repeat(200_000) } }), 'w');
    expect(s.template.labels['k'.repeat(317)]).toBe('v'.repeat(63));
  });
});
