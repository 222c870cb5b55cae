import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CertIdentity, CertRecipient } from '../../src/keys/cert.js';

/** Names of the committed test keys in test/vectors/keys. */
export type VectorKeyName = 'a' | 'b';

/** PEM texts of a committed test key pair. */
export interface VectorKey {
  readonly keyPem: string;
  readonly certPem: string;
  readonly keyPath: string;
  readonly certPath: string;
}

/** Returns the committed 2048-bit test key pair `name` (never a real secret). */
export function vectorKey(name: VectorKeyName): VectorKey {
  const keyPath = fileURLToPath(new URL(`../vectors/keys/${name}.key.pem`, import.meta.url));
  const certPath = fileURLToPath(new URL(`../vectors/keys/${name}.cert.pem`, import.meta.url));
  return { keyPem: readFileSync(keyPath, 'utf8'), certPem: readFileSync(certPath, 'utf8'), keyPath, certPath };
}

/** A fresh unwrapper for a committed key; its privateOps counter starts at 0. */
export function vectorIdentity(name: VectorKeyName): CertIdentity {
  return CertIdentity.fromPem(vectorKey(name).keyPem, `test key ${name}`);
}

/** The wrapper (public certificate) of a committed key. */
export function vectorRecipient(name: VectorKeyName): CertRecipient {
  return CertRecipient.fromPem(vectorKey(name).certPem, `test cert ${name}`);
}
