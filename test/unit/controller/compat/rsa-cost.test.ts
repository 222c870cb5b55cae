import { createPublicKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bitnamiLabel, sealBitnamiValue } from '../../../../src/crypto/bitnami.js';
import { DataKeyCache } from '../../../../src/crypto/key-cache.js';
import { bitnamiOpener, WorkingKeys } from '../../../../src/controller/compat/opener.js';
import { isSealboxError } from '../../../../src/errors.js';
import type { BitnamiSealed } from '../../../../src/format/bitnami.js';
import { unsealBitnami } from '../../../../src/format/bitnami.js';
import { vectorIdentity, vectorKey } from '../../../helpers/keys.js';

// Sealed Secrets' values name no key, so each one no key opens costs an RSA
// private operation per key. A tenant's SealedSecret (1.5 MB in etcd) holds
// ~100,000 four-byte values: at ~5 ms an operation, minutes of the RSA pool
// every tenant shares, again at every retry.
function keys() {
  const a = vectorIdentity('a');
  const b = vectorIdentity('b');
  return { a, b, list: [{ fingerprint: a.fingerprint, identity: a }, { fingerprint: b.fingerprint, identity: b }] };
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const garbage = (): Uint8Array => new Uint8Array(Buffer.concat([Buffer.from([1, 0]), randomBytes(256 + 20)]));

function sealed(encryptedData: Record<string, string>): BitnamiSealed {
  return { namespace: 'tenant', name: 'x', scope: 'strict', encryptedData, template: { data: {} } };
}

describe('compat mode: RSA operations a tenant can make the controller spend', () => {
  it('a value whose RSA part is not as long as the modulus costs none', async () => {
    const k = keys();
    const open = bitnamiOpener('tenant/x', k.list, new WorkingKeys(), new DataKeyCache(16));
    const tiny = new Uint8Array([0, 1, 0x42, ...new Uint8Array(16)]);
    expect(await open(tiny, bitnamiLabel('strict', 'tenant', 'x'))).toBeNull();
    expect(await open(new Uint8Array([0, 2, 0, 0]), bitnamiLabel('strict', 'tenant', 'x'))).toBeNull();
    expect(k.a.privateOps + k.b.privateOps).toBe(0);
  });

  it('stops trying keys after 8 values no key opens, and says how many it did not try', async () => {
    const k = keys();
    const open = bitnamiOpener('tenant/x', k.list, new WorkingKeys(), new DataKeyCache(16));
    const data = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`v${String(i).padStart(3, '0')}`, b64(garbage())]));
    let caught: unknown;
    try {
      await unsealBitnami(sealed(data), open, 'sealedsecret "tenant/x"');
    } catch (err) {
      caught = err;
    }
    expect(isSealboxError(caught, 'NO_KEY')).toBe(true);
    expect((caught as Error).message).toContain('no key could decrypt secret (v000, v001, v002, v003, v004, v005, v006, v007, and 92 more values not tried)');
    expect(k.a.privateOps + k.b.privateOps).toBe(8 * 2);
  });

  it('still opens every value sealed as kubeseal seals, and names each of a few that fail', async () => {
    const k = keys();
    const open = bitnamiOpener('tenant/x', k.list, new WorkingKeys(), new DataKeyCache(16));
    const cert = createPublicKey(vectorKey('b').certPem);
    const label = bitnamiLabel('strict', 'tenant', 'x');
    const good = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`ok${String(i)}`, b64(sealBitnamiValue(cert, new Uint8Array([i]), label))]));
    const out = await unsealBitnami(sealed(good), open, 'w');
    expect(Object.keys(out.data)).toHaveLength(20);
    expect(out.data.ok7).toBe(b64(new Uint8Array([7])));
    await expect(unsealBitnami(sealed({ ...good, bad1: b64(garbage()), bad2: b64(garbage()) }), open, 'w')).rejects.toThrow('no key could decrypt secret (bad1, bad2);');
  });
});
