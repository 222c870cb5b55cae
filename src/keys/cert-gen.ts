import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CertIdentity, MIN_RSA_BITS } from './cert.js';
import { SealboxError } from '../errors.js';

/** A new sealing key: PEM private key (PKCS#8), PEM self-signed certificate, fingerprint. */
export interface GeneratedKey {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly fingerprint: string;
}

/** Options of generateSealingKey. */
export interface KeyGenOptions {
  readonly bits?: number;
  readonly days?: number;
  readonly commonName?: string;
  readonly now?: Date;
}

/**
 * Generates an RSA key pair (node:crypto) and a self-signed X.509 certificate
 * for it (node-forge, which is loaded only here). Throws SealboxError('INPUT')
 * for a key size or validity out of range.
 */
export async function generateSealingKey(opts: KeyGenOptions = {}): Promise<GeneratedKey> {
  const bits = opts.bits ?? 4096;
  const days = opts.days ?? 3650;
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > 16384 || bits % 8 !== 0) {
    throw new SealboxError('INPUT', `key size ${bits} bits: use a multiple of 8 from ${MIN_RSA_BITS} to 16384 (4096 is the default)`, { hint: { kind: 'key-bits' } });
  }
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new SealboxError('INPUT', `certificate validity ${days} days: use a whole number of days from 1 to 36500`, { hint: { kind: 'validity-days' } });
  }
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const { default: forge } = await import('node-forge');
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  // Positive serial: clear the top bit.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = opts.now ?? new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  const attrs = [
    { name: 'commonName', value: opts.commonName ?? 'sealbox' },
    { name: 'organizationName', value: 'sealbox' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', keyEncipherment: true, dataEncipherment: true, digitalSignature: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const certificatePem = forge.pki.certificateToPem(cert);
  const fingerprint = CertIdentity.fromPem(privateKey, 'generated key').fingerprint;
  return { privateKeyPem: privateKey, certificatePem, fingerprint };
}
