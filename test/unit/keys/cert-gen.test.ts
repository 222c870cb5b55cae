import { X509Certificate, createPrivateKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { generateSealingKey } from '../../../src/keys/cert-gen.js';
import type { GeneratedKey } from '../../../src/keys/cert-gen.js';
import { CertIdentity, CertRecipient } from '../../../src/keys/cert.js';

const now = new Date('2030-06-01T12:00:00Z');
let key: GeneratedKey;

beforeAll(async () => {
  key = await generateSealingKey({ bits: 2048, days: 30, commonName: 'prod-cluster', now });
});

describe('generateSealingKey', () => {
  it('writes a PKCS#8 private key and a certificate for the same key', () => {
    expect(key.privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
    expect(createPrivateKey(key.privateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(CertRecipient.fromPem(key.certificatePem, 'c').recipient.id).toBe(key.fingerprint);
    expect(CertIdentity.fromPem(key.privateKeyPem, 'k').fingerprint).toBe(key.fingerprint);
  });

  it('self-signs the certificate with the common name, for the requested days', () => {
    const cert = new X509Certificate(key.certificatePem);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toContain('CN=prod-cluster');
    expect(cert.issuer).toBe(cert.subject);
    expect(new Date(cert.validFrom).getTime()).toBe(now.getTime() - 60_000);
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 30 * 86_400_000);
    expect(cert.ca).toBe(false);
  });

  it('gives a positive serial number and a new key each time', async () => {
    const other = await generateSealingKey({ bits: 2048, days: 1 });
    expect(other.fingerprint).not.toBe(key.fingerprint);
    for (const pem of [key.certificatePem, other.certificatePem]) {
      const serial = new X509Certificate(pem).serialNumber;
      expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });

  it('makes a 4096-bit key by default', async () => {
    const big = await generateSealingKey();
    expect(new X509Certificate(big.certificatePem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    const cert = new X509Certificate(big.certificatePem);
    const years = (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / (365 * 86_400_000);
    expect(Math.round(years)).toBe(10);
  }, 60_000);

  it.each([
    ['bits', { bits: 1024 }, 'key size 1024 bits'],
    ['bits', { bits: 2047 }, 'key size 2047 bits'],
    ['bits', { bits: 2052 }, 'key size 2052 bits'],
    ['bits', { bits: 16392 }, 'key size 16392 bits'],
    ['bits', { bits: 2048.5 }, 'key size 2048.5 bits'],
    ['days', { days: 0 }, 'certificate validity 0 days'],
    ['days', { days: 36501 }, 'certificate validity 36501 days'],
    ['days', { days: 1.5 }, 'certificate validity 1.5 days'],
  ])('refuses %s out of range (%j) as INPUT before generating anything', async (what, opts, message) => {
    const started = Date.now();
    const err = await generateSealingKey(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
    expect((err as SealboxError).message).toContain(message);
    expect((err as SealboxError).hint).toEqual({ kind: what === 'bits' ? 'key-bits' : 'validity-days' });
    expect(Date.now() - started).toBeLessThan(200);
  });
});
