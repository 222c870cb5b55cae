import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bitnamiLabel,
  bitnamiScopeOf,
  decryptBitnamiValue,
  openBitnamiValue,
  sealBitnamiValue,
  splitBitnamiValue,
} from '../../../src/crypto/bitnami.js';
import type { BitnamiScope } from '../../../src/crypto/bitnami.js';
import { BITNAMI_PLAINTEXT, bitnamiVector } from '../../helpers/bitnami-vectors.js';
import type { BitnamiSealed } from '../../helpers/bitnami-vectors.js';
import { vectorIdentity, vectorKey } from '../../helpers/keys.js';

const keyA = createPrivateKey(vectorKey('a').keyPem);
const keyB = createPrivateKey(vectorKey('b').keyPem);
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

function labelOf(s: BitnamiSealed): Uint8Array {
  return bitnamiLabel(bitnamiScopeOf(s.metadata.annotations), s.metadata.namespace, s.metadata.name);
}

describe('BitnamiSealed Secrets value format, against kubeseal v0.36.6', () => {
  it.each(['strict', 'namespace-wide', 'cluster-wide'])('opens every value kubeseal sealed with scope %s', (scope) => {
    const sealed = bitnamiVector(`a.${scope}.yaml`);
    expect(bitnamiScopeOf(sealed.metadata.annotations)).toBe(scope);
    const opened = Object.entries(sealed.spec.encryptedData).map(([k, v]) => [k, Buffer.from(decryptBitnamiValue(keyA, bytes(v), labelOf(sealed)) ?? 'x')]);
    expect(Object.fromEntries(opened)).toEqual(BITNAMI_PLAINTEXT);
  });

  it.each([
    ['strict', 'prod', 'other'],
    ['strict', 'staging', 'db'],
    ['namespace-wide', 'staging', 'db'],
  ] as const)('refuses a %s value read as if it were in %s/%s', (scope, namespace, name) => {
    const value = bytes(bitnamiVector(`a.${scope}.yaml`).spec.encryptedData.password ?? '');
    expect(decryptBitnamiValue(keyA, value, bitnamiLabel(scope, namespace, name))).toBeNull();
  });

  it('opens a namespace-wide value under any name in its namespace, and a cluster-wide one anywhere', () => {
    const ns = bytes(bitnamiVector('a.namespace-wide.yaml').spec.encryptedData.password ?? '');
    expect(Buffer.from(decryptBitnamiValue(keyA, ns, bitnamiLabel('namespace-wide', 'prod', 'renamed')) ?? [])).toEqual(BITNAMI_PLAINTEXT.password);
    const cluster = bytes(bitnamiVector('a.cluster-wide.yaml').spec.encryptedData.password ?? '');
    expect(Buffer.from(decryptBitnamiValue(keyA, cluster, bitnamiLabel('cluster-wide', 'elsewhere', 'x')) ?? [])).toEqual(BITNAMI_PLAINTEXT.password);
  });

  it('does not open a value with another key, and opens it with its own', () => {
    const sealed = bitnamiVector('b.strict.yaml');
    const value = bytes(sealed.spec.encryptedData.password ?? '');
    expect(decryptBitnamiValue(keyA, value, labelOf(sealed))).toBeNull();
    expect(Buffer.from(decryptBitnamiValue(keyB, value, labelOf(sealed)) ?? [])).toEqual(BITNAMI_PLAINTEXT.password);
  });

  it('unwraps the session key off the event loop with CertIdentity.unwrapBitnami, null for a key that is not its own', async () => {
    const sealed = bitnamiVector('a.strict.yaml');
    const parts = splitBitnamiValue(bytes(sealed.spec.encryptedData.unicode ?? ''));
    if (parts === null) throw new Error('vector too short');
    const sessionKey = await vectorIdentity('a').unwrapBitnami(parts.wrapped, labelOf(sealed));
    expect(sessionKey?.length).toBe(32);
    expect(Buffer.from(openBitnamiValue(sessionKey ?? new Uint8Array(), parts.sealed) ?? [])).toEqual(BITNAMI_PLAINTEXT.unicode);
    expect(await vectorIdentity('b').unwrapBitnami(parts.wrapped, labelOf(sealed))).toBeNull();
    expect(await vectorIdentity('a').unwrapBitnami(parts.wrapped, bitnamiLabel('strict', 'prod', 'x'))).toBeNull();
  });

  it('refuses a value with one bit flipped anywhere, or cut short', () => {
    const sealed = bitnamiVector('a.strict.yaml');
    const value = bytes(sealed.spec.encryptedData.password ?? '');
    for (const at of [0, 1, 2, 100, 258, value.length - 1]) {
      const copy = Uint8Array.from(value);
      copy[at] = (copy[at] ?? 0) ^ 1;
      expect(decryptBitnamiValue(keyA, copy, labelOf(sealed)), `byte ${String(at)}`).toBeNull();
    }
    expect(splitBitnamiValue(value.subarray(0, 1))).toBeNull();
    expect(splitBitnamiValue(value.subarray(0, 200))).toBeNull();
    expect(decryptBitnamiValue(keyA, value.subarray(0, 270), labelOf(sealed))).toBeNull();
  });

  it('seals in the layout kubeseal writes: a 2-byte length, the RSA block, then value and tag', () => {
    const value = Buffer.from('hello');
    const sealed = sealBitnamiValue(createPublicKey(keyA), value, bitnamiLabel('strict', 'prod', 'db'));
    expect(sealed.length).toBe(2 + 256 + value.length + 16);
    expect([sealed[0], sealed[1]]).toEqual([1, 0]);
    expect(Buffer.from(decryptBitnamiValue(keyA, sealed, bitnamiLabel('strict', 'prod', 'db')) ?? [])).toEqual(value);
  });

  it.each([
    [{}, 'strict'],
    [{ 'sealedsecrets.bitnami.com/namespace-wide': 'true' }, 'namespace-wide'],
    [{ 'sealedsecrets.bitnami.com/cluster-wide': 'true' }, 'cluster-wide'],
    [{ 'sealedsecrets.bitnami.com/cluster-wide': 'true', 'sealedsecrets.bitnami.com/namespace-wide': 'true' }, 'cluster-wide'],
    [{ 'sealedsecrets.bitnami.com/cluster-wide': 'True' }, 'strict'],
    [{ 'sealedsecrets.bitnami.com/namespace-wide': '1' }, 'strict'],
  ] as [Record<string, string>, BitnamiScope][])('reads annotations %o as scope %s', (annotations, scope) => {
    expect(bitnamiScopeOf(annotations)).toBe(scope);
  });

  it.each([
    ['strict', 'ns/name'],
    ['namespace-wide', 'ns'],
    ['cluster-wide', ''],
  ] as [BitnamiScope, string][])('labels scope %s as %j', (scope, label) => {
    expect(Buffer.from(bitnamiLabel(scope, 'ns', 'name')).toString()).toBe(label);
  });
});
