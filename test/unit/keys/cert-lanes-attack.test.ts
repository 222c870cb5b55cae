// attack24: the RSA lanes of CertIdentity (3cf8a44) under a failed import and
// under concurrent use by two keys and both formats.
import { constants, createPublicKey, publicEncrypt, webcrypto } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wrapLabel } from '../../../src/crypto/binding.js';
import type { Binding } from '../../../src/crypto/types.js';
import { SealboxError } from '../../../src/errors.js';
import { CertIdentity, RSA_LANES } from '../../../src/keys/cert.js';
import { vectorKey, vectorRecipient } from '../../helpers/keys.js';

const binding: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };
const dataKey = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a private key that WebCrypto would not import', () => {
  // Not reachable by a tenant (keys come from the controller's namespace), but
  // the failure must name the key, not the resource: the old code crashed the
  // process (unhandled rejection of the one import); with lanes it first
  // reported every resource sealed for the key as tampered with.
  it('fails unwraps as a key problem, not as TAMPERED, and rejects nothing unhandled', async () => {
    vi.spyOn(webcrypto.subtle, 'importKey').mockRejectedValue(new DOMException('forced import failure', 'DataError'));
    const id = CertIdentity.fromPem(vectorKey('a').keyPem, 'key.pem');
    const stanza = await vectorRecipient('a').wrap(dataKey, binding);
    const err = await id.unwrap(stanza, binding).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('PROVIDER');
    expect((err as SealboxError).message).toContain(`private key ${id.description} could not be imported`);
    // the Sealed Secrets format fails the same way, instead of reading as "not this key"
    const bitnami = await id.unwrapBitnami(stanza.wrapped, Buffer.from('prod/db')).catch((e: unknown) => e);
    expect((bitnami as SealboxError).code).toBe('PROVIDER');
  });
});

describe('lanes shared by concurrent unwraps of two keys and both formats', () => {
  it('gives each call its own data key', async () => {
    const ids = { a: CertIdentity.fromPem(vectorKey('a').keyPem, 'a'), b: CertIdentity.fromPem(vectorKey('b').keyPem, 'b') };
    const n = 4 * RSA_LANES + 3;
    const jobs = await Promise.all(
      Array.from({ length: n * 2 }, async (_, i) => {
        const which = i % 2 === 0 ? 'a' : 'b';
        const key = Uint8Array.from({ length: 32 }, (_, j) => (i * 13 + j) % 256);
        const b: Binding = { ...binding, name: `db-${String(i)}` };
        if (i % 3 === 0) {
          // Sealed Secrets compat: a raw OAEP ciphertext with a label of its own.
          const label = Buffer.from(`label-${String(i)}`);
          const wrapped = new Uint8Array(publicEncrypt({ key: createPublicKey(vectorKey(which).keyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, key));
          return { key, run: () => ids[which].unwrapBitnami(wrapped, label) };
        }
        const stanza = await vectorRecipient(which).wrap(key, b);
        return { key, run: () => ids[which].unwrap(stanza, b) };
      }),
    );
    const got = await Promise.all(jobs.map((j) => j.run()));
    got.forEach((k, i) => expect(k).toEqual(jobs[i]?.key));
    // a wrong label on either key opens nothing, whatever else is in flight
    const stanza = await vectorRecipient('a').wrap(dataKey, binding);
    const misses = await Promise.allSettled([ids.a.unwrap(stanza, { ...binding, name: 'other' }), ids.a.unwrapBitnami(stanza.wrapped, Buffer.from('prod/db')), ids.b.unwrapBitnami(stanza.wrapped, wrapLabel(binding))]);
    expect(misses.map((m) => m.status === 'fulfilled' ? m.value : (m.reason as SealboxError).code)).toEqual(['TAMPERED', null, null]);
  });
});
