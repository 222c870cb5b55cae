// Attack review (9ae5a2b): the slot buffer zeroes a key when it leaves the
// cache, but the compat opener drops every copy it gets from the cache (and
// every session key it unwraps) without zeroing it, so each reconcile of a
// compat value leaves its 32-byte session key in garbage heap.
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bitnamiLabel, sealBitnamiValue } from '../../../../src/crypto/bitnami.js';
import { DataKeyCache } from '../../../../src/crypto/key-cache.js';
import { bitnamiOpener, WorkingKeys } from '../../../../src/controller/compat/opener.js';
import { vectorIdentity, vectorKey } from '../../../helpers/keys.js';

/** A cache that keeps every array it hands out and every array handed to it. */
class Watched extends DataKeyCache {
  readonly out: Uint8Array[] = [];
  readonly in: Uint8Array[] = [];
  override get(key: string): Uint8Array | undefined {
    const k = super.get(key);
    if (k !== undefined) this.out.push(k);
    return k;
  }
  override set(key: string, dataKey: Uint8Array): void {
    this.in.push(dataKey);
    super.set(key, dataKey);
  }
}

describe('compat opener: session key copies', () => {
  it('zeroes the session keys it unwraps and the copies it gets from the cache', async () => {
    const a = vectorIdentity('a');
    const cache = new Watched(16);
    const open = bitnamiOpener('tenant/x', [{ fingerprint: a.fingerprint, identity: a }], new WorkingKeys(), cache);
    const label = bitnamiLabel('strict', 'tenant', 'x');
    const value = sealBitnamiValue(createPublicKey(vectorKey('a').certPem), new Uint8Array([1, 2, 3]), label);
    expect(await open(value, label)).toEqual(new Uint8Array([1, 2, 3])); // miss: RSA, then cached
    expect(await open(value, label)).toEqual(new Uint8Array([1, 2, 3])); // hit
    expect([cache.in.length, cache.out.length]).toEqual([1, 1]);
    for (const k of [...cache.in, ...cache.out]) expect(k.every((x) => x === 0)).toBe(true);
  });

  it('a session key longer than a slot (33+ bytes) is not an AES key: it opens nothing and every RSA operation is charged', async () => {
    const a = vectorIdentity('a');
    const cache = new Watched(16);
    let charged = 0;
    const open = bitnamiOpener('tenant/x', [{ fingerprint: a.fingerprint, identity: a }], new WorkingKeys(), cache, () => { charged++; });
    const label = bitnamiLabel('strict', 'tenant', 'x');
    const wrapped = publicEncrypt({ key: createPublicKey(vectorKey('a').certPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, randomBytes(48));
    const value = new Uint8Array(Buffer.concat([Buffer.from([wrapped.length >> 8, wrapped.length & 0xff]), wrapped, randomBytes(32)]));
    for (let i = 0; i < 5; i++) expect(await open(value, label)).toBeNull();
    expect([a.privateOps, charged, cache.size]).toEqual([5, 5, 0]);
  });
});
