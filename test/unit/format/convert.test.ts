import { describe, expect, it } from 'vitest';
import { parseBitnamiSealed } from '../../../src/format/bitnami.js';
import { convertedSecret, isBitnamiManifest, keptMetadata, scopeOfBitnami } from '../../../src/format/convert.js';

describe('scopeOfBitnami', () => {
  it.each([
    ['strict', 'strict'],
    ['namespace-wide', 'namespace'],
    ['cluster-wide', 'cluster'],
  ] as const)('maps Sealed Secrets scope %s to sealbox scope %s', (from, to) => {
    expect(scopeOfBitnami(from)).toBe(to);
  });
});

describe('isBitnamiManifest', () => {
  it.each([
    [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret' }, true],
    [{ apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret' }, false],
    [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'Secret' }, false],
    [null, false],
  ])('tells %j apart: %s', (doc, is) => {
    expect(isBitnamiManifest(doc)).toBe(is);
  });
});

describe('keptMetadata', () => {
  it('keeps the labels and annotations of the SealedSecret, without the scope annotations and last-applied copies', () => {
    const obj = { metadata: { labels: { app: 'db' }, annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true', 'sealedsecrets.bitnami.com/namespace-wide': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'team': 'x' } } };
    expect(keptMetadata(obj)).toEqual({ labels: { app: 'db' }, annotations: { team: 'x' } });
    expect(keptMetadata({})).toEqual({ labels: {}, annotations: {} });
  });
});

describe('convertedSecret', () => {
  const sealed = (meta: object): ReturnType<typeof parseBitnamiSealed> => parseBitnamiSealed({ metadata: meta, spec: { encryptedData: {} } }, 'doc');
  const opened = { labels: { app: 'db' }, annotations: { a: 'b' }, type: 'kubernetes.io/tls', immutable: true, data: { 'tls.key': Buffer.from('k').toString('base64') } };

  it('keeps name, namespace, type, immutable, labels, annotations and every value', () => {
    const s = convertedSecret(sealed({ name: 'db', namespace: 'prod' }), opened, 'doc');
    expect({ ...s, data: Object.fromEntries([...s.data].map(([k, v]) => [k, Buffer.from(v).toString()])) }).toEqual({
      name: 'db', namespace: 'prod', type: 'kubernetes.io/tls', immutable: true, labels: { app: 'db' }, annotations: { a: 'b' }, data: { 'tls.key': 'k' },
    });
  });

  it('gives a SealedSecret without a type the type Opaque, as the Secret Sealed Secrets writes has', () => {
    expect(convertedSecret(sealed({ name: 'db', namespace: 'prod' }), { data: {} }, 'doc').type).toBe('Opaque');
  });

  it('refuses a SealedSecret without a name, or a strict one without a namespace', () => {
    expect(() => convertedSecret(sealed({ namespace: 'prod' }), opened, 'doc')).toThrow(/metadata\.name is missing/);
    expect(() => convertedSecret(sealed({ name: 'db' }), opened, 'doc')).toThrow(/metadata\.namespace is missing/);
  });
});
