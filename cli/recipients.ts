import type { KeyUnwrapper, KeyWrapper } from '../src/crypto/types.js';
import { SealboxError } from '../src/errors.js';
import { CertIdentity, CertRecipient } from '../src/keys/cert.js';
import { readInput } from './io.js';

/** Loads a certificate from a file path or an http(s) URL. Throws SealboxError('INPUT' | 'IO' | 'PROVIDER'). */
export async function loadCertificate(spec: string): Promise<CertRecipient> {
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
