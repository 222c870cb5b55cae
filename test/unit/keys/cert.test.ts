import { X509Certificate, constants, createHash, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wrapLabel } from '../../../src/crypto/binding.js';
import type { Binding, WrappedKey } from '../../../src/crypto/types.js';
import { SealboxError } from '../../../src/errors.js';
import { CertIdentity, CertRecipient, MIN_RSA_BITS, RSA_LANES, publicKeyFingerprint } from '../../../src/keys/cert.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../../helpers/keys.js';
import { expectSealboxError } from '../../helpers/errors.js';

const fixture = (name: string): string => readFileSync(new URL(`../../vectors/keys/${name}`, import.meta.url), 'utf8');
const a = vectorKey('a');
const binding: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };
const dataKey = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);


describe('publicKeyFingerprint', () => {
  it('is the SHA-256 of the DER SubjectPublicKeyInfo, in lowercase hex', () => {
    const cert = new X509Certificate(a.certPem);
    const der = cert.publicKey.export({ type: 'spki', format: 'der' });
    expect(publicKeyFingerprint(cert.publicKey)).toBe(createHash('sha256').update(der).digest('hex'));
    expect(publicKeyFingerprint(cert.publicKey)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names a key the same from its certificate and from its private key', () => {
    expect(vectorRecipient('a').recipient).toEqual({ type: 'cert', id: publicKeyFingerprint(createPublicKey(a.keyPem)) });
    expect(vectorIdentity('a').fingerprint).toBe(vectorRecipient('a').recipient.id);
    expect(vectorIdentity('b').fingerprint).not.toBe(vectorIdentity('a').fingerprint);
  });
});

describe('CertRecipient.fromPem', () => {
  it('reads a PEM certificate from text or bytes', () => {
    expect(CertRecipient.fromPem(Buffer.from(a.certPem), 'a.pem').recipient.id).toBe(vectorIdentity('a').fingerprint);
  });

  it.each([
    ['an EC certificate', fixture('ec.cert.pem'), `not an RSA key of at least ${MIN_RSA_BITS} bits`],
    ['a 1024-bit RSA certificate', fixture('rsa1024.cert.pem'), 'not an RSA key of at least 2048 bits'],
    ['a private key', a.keyPem, 'not a PEM X.509 certificate'],
    ['text', 'hello', 'not a PEM X.509 certificate'],
    ['an empty file', '', 'not a PEM X.509 certificate'],
  ])('refuses %s as INPUT, naming the file', (_what, pem, message) => {
    const { message: got } = expectSealboxError(() => CertRecipient.fromPem(pem, 'cluster.pem'), 'INPUT', message);
    expect(got).toMatch(/^cluster\.pem: /);
  });

  it('tells whether the certificate has expired', () => {
    const r = vectorRecipient('a');
    const notAfter = new Date(r.certificate.validTo);
    expect(r.isExpired(new Date(notAfter.getTime() - 1000))).toBe(false);
    expect(r.isExpired(new Date(notAfter.getTime() + 1000))).toBe(true);
  });
});

describe('CertIdentity.fromPem', () => {
  const pkcs1 = createPrivateKey(a.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();

  it.each([
    ['PKCS#8', a.keyPem, '-----BEGIN PRIVATE KEY-----'],
    ['PKCS#1', pkcs1, '-----BEGIN RSA PRIVATE KEY-----'],
  ])('reads a %s private key', (_what, pem, header) => {
    expect(pem.startsWith(header)).toBe(true);
    const id = CertIdentity.fromPem(pem, 'key.pem');
    expect(id.fingerprint).toBe(vectorRecipient('a').recipient.id);
    expect(id.description).toBe(`cert:${id.fingerprint.slice(0, 12)}`);
  });

  const encrypted = createPrivateKey(a.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
  it.each([
    ['an EC private key', fixture('ec.key.pem'), 'not an RSA key of at least 2048 bits'],
    ['a 1024-bit RSA private key', fixture('rsa1024.key.pem'), 'not an RSA key of at least 2048 bits'],
    ['a certificate', a.certPem, 'not a PEM RSA private key'],
    ['a passphrase-protected key', encrypted, 'not a PEM RSA private key'],
    ['a truncated key', a.keyPem.slice(0, 900), 'not a PEM RSA private key'],
    ['text', 'hello', 'not a PEM RSA private key'],
  ])('refuses %s as INPUT without quoting it', (_what, pem, message) => {
    const { message: got } = expectSealboxError(() => CertIdentity.fromPem(pem, 'key.pem'), 'INPUT', message);
    expect(got).toMatch(/^key\.pem: /);
    const body = a.keyPem.split('\n')[5] ?? 'unreachable';
    expect(got).not.toContain(body);
    expect(got).not.toContain('PRIVATE KEY-----');
  });
});

describe('wrapping and unwrapping a data key', () => {
  const recipient = vectorRecipient('a');

  it('wraps with RSA-OAEP-SHA256 labelled with the binding, as FORMAT.md says', async () => {
    const stanza = await recipient.wrap(dataKey, binding);
    expect(stanza).toMatchObject({ type: 'cert', id: recipient.recipient.id });
    expect(stanza.wrapped).toHaveLength(256);
    const opened = privateDecrypt(
      { key: a.keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(wrapLabel(binding)) },
      stanza.wrapped,
    );
    expect(new Uint8Array(opened)).toEqual(dataKey);
  });

  it('gives different wrapped bytes each time (OAEP is randomised)', async () => {
    expect((await recipient.wrap(dataKey, binding)).wrapped).not.toEqual((await recipient.wrap(dataKey, binding)).wrapped);
  });

  it('unwraps its own stanza with one private operation', async () => {
    const id = vectorIdentity('a');
    expect(await id.unwrap(await recipient.wrap(dataKey, binding), binding)).toEqual(dataKey);
    expect(id.privateOps).toBe(1);
  });

  it('unwraps more stanzas at once than it has copies of the key, each to its own data key', async () => {
    const id = vectorIdentity('a');
    const keys = Array.from({ length: 4 * RSA_LANES + 1 }, (_, i) => Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j) % 256));
    const bindings = keys.map((_, i): Binding => ({ ...binding, name: `db-${String(i)}` }));
    const stanzas = await Promise.all(keys.map((k, i) => recipient.wrap(k, bindings[i] ?? binding)));
    // One tampered stanza in the middle fails alone and leaves its copy of the key usable.
    const bad = stanzas.length >> 1;
    const opened = await Promise.allSettled(stanzas.map((s, i) => id.unwrap(s, i === bad ? { ...binding, name: 'other' } : (bindings[i] ?? binding))));
    opened.forEach((r, i) => {
      if (i === bad) expect(r.status === 'rejected' && (r.reason as SealboxError).code).toBe('TAMPERED');
      else expect(r).toEqual({ status: 'fulfilled', value: keys[i] });
    });
    expect(id.privateOps).toBe(keys.length);
    const again = stanzas[bad];
    if (again === undefined) throw new Error('no stanza');
    expect(await id.unwrap(again, bindings[bad] ?? binding)).toEqual(keys[bad]);
  });

  it.each<[string, Partial<WrappedKey>]>([
    ['another recipient id', { id: 'f'.repeat(64) }],
    ['another recipient type', { type: 'aws-kms' }],
  ])('returns null, with no private operation, for a stanza of %s', async (_what, change) => {
    const id = vectorIdentity('a');
    const stanza = { ...(await recipient.wrap(dataKey, binding)), ...change };
    expect(await id.unwrap(stanza, binding)).toBeNull();
    expect(id.privateOps).toBe(0);
  });

  it.each<[string, Binding]>([
    ['another namespace', { ...binding, namespace: 'staging' }],
    ['another name', { ...binding, name: 'db2' }],
    ['another scope', { ...binding, scope: 'namespace' }],
  ])('refuses a wrap opened for %s as TAMPERED', async (_what, other) => {
    const stanza = await recipient.wrap(dataKey, binding);
    const err = await vectorIdentity('a').unwrap(stanza, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('TAMPERED');
    expect((err as SealboxError).message).toContain('copied from a resource with another namespace, name or scope');
  });

  it.each([0, 100, 255])('refuses a wrap with byte %i flipped as TAMPERED', async (at) => {
    const stanza = await recipient.wrap(dataKey, binding);
    const wrapped = Uint8Array.from(stanza.wrapped);
    wrapped[at] = (wrapped[at] ?? 0) ^ 0x01;
    const err = await vectorIdentity('a').unwrap({ ...stanza, wrapped }, binding).catch((e: unknown) => e);
    expect((err as SealboxError).code).toBe('TAMPERED');
  });

  it('refuses a wrap of the wrong length as TAMPERED', async () => {
    const stanza = await recipient.wrap(dataKey, binding);
    const err = await vectorIdentity('a').unwrap({ ...stanza, wrapped: stanza.wrapped.subarray(1) }, binding).catch((e: unknown) => e);
    expect((err as SealboxError).code).toBe('TAMPERED');
  });

  it.each([0, 1, 16, 255, 257, 512])('spends no private operation on a wrap of %i bytes (the modulus is 256)', async (n) => {
    const id = vectorIdentity('a');
    const stanza = { ...(await recipient.wrap(dataKey, binding)), wrapped: new Uint8Array(n) };
    const err = await id.unwrap(stanza, binding).catch((e: unknown) => e);
    expect((err as SealboxError).code).toBe('TAMPERED');
    expect((err as SealboxError).message).toContain(`${String(n)} bytes where this key's are 256`);
    expect(id.privateOps).toBe(0);
  });
});
