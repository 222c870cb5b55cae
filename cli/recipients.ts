import type { KeyUnwrapper, KeyWrapper } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import { CertIdentity, CertRecipient, certificatesFromPem, publicKeyFingerprint } from '../src/keys/cert.js';
import { readInput } from './io.js';

/** Reads a certificate file or fetches an http(s) URL. Throws SealboxError('IO' | 'PROVIDER'). */
export async function readCertificateFile(spec: string): Promise<Uint8Array> {
  let pem: Uint8Array;
  if (/^https?:\/\//.test(spec)) {
    let res: Response;
    try {
      res = await fetch(spec, { signal: AbortSignal.timeout(10_000) });
    } catch (cause) {
      throw new SealboxError('PROVIDER', `cannot fetch certificate from ${spec}: the server is unreachable; check the URL or use a certificate file`, { cause });
    }
    if (!res.ok) throw new SealboxError('PROVIDER', `cannot fetch certificate from ${spec}: HTTP ${res.status}`);
    pem = new Uint8Array(await res.arrayBuffer());
  } else {
    pem = await readInput(spec);
  }
  return pem;
}

/**
 * Loads the certificate of one recipient from a file path or an http(s) URL.
 * Throws SealboxError('INPUT') for anything but one certificate (a bundle
 * would silently pick one), and 'IO' | 'PROVIDER' when it cannot be read.
 */
export async function loadCertificate(spec: string): Promise<CertRecipient> {
  const pem = await readCertificateFile(spec);
  const certs = certificatesFromPem(pem, spec);
  if (certs.length > 1) {
    const fingerprints = certs.map((c) => publicKeyFingerprint(c.publicKey).slice(0, 12)).join(', ');
    throw new SealboxError('INPUT', `${spec} holds ${certs.length} certificates (${fingerprints}); a recipient is one certificate: split the file and name each certificate you mean on its own (--cert once per certificate; "sealbox cert fetch" without --all gives the newest one)`);
  }
  const recipient = CertRecipient.fromPem(pem, spec);
  if (recipient.isExpired()) {
    process.stderr.write(`warning: certificate ${spec} expired on ${recipient.certificate.validTo}; the controller still unseals with its key, but fetch the newest certificate\n`);
  }
  return recipient;
}

/** Builds the wrappers for `--cert` flags. */
export async function certWrappers(certs: readonly string[]): Promise<KeyWrapper[]> {
  return Promise.all(certs.map(loadCertificate));
}

/** Loads private keys for `--key` flags. */
export async function keyUnwrappers(keys: readonly string[]): Promise<KeyUnwrapper[]> {
  return Promise.all(keys.map(async (k) => CertIdentity.fromPem(await readInput(k), k)));
}
