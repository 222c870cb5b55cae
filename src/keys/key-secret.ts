/**
 * The controller's sealing keys as Kubernetes Secrets: the label and
 * annotations that mark them, and the one parser of their `tls.crt` and
 * `tls.key`, shared by the key manager and `sealbox keys backup/restore`.
 */
import { SealboxError } from '../errors.js';
import { CertIdentity, CertRecipient } from './cert.js';

/** Label that marks a Secret as a sealing key. */
export const SEALING_KEY_LABEL = 'sealbox.dev/sealing-key';
/** Annotation holding a key's original creation time (RFC 3339), kept across backup and restore. */
export const CREATED_AT_ANNOTATION = 'sealbox.dev/created-at';
/** Annotation of a key imported from Sealed Secrets: where it came from (`sealed-secrets/NAMESPACE/NAME`). Such a key only unseals, unless SEAL_WITH_ANNOTATION says otherwise. */
export const IMPORTED_ANNOTATION = 'sealbox.dev/imported-from';
/** Annotation of an imported key chosen for sealing (`keys import --seal-with`): since when (RFC 3339). */
export const SEAL_WITH_ANNOTATION = 'sealbox.dev/seal-with-since';
/** Annotation with the key's fingerprint. */
export const FINGERPRINT_ANNOTATION = 'sealbox.dev/fingerprint';

/** The parts of a key Secret the parser reads. */
export interface KeySecretParts {
  readonly name: string;
  /** base64 values, as in a Secret's `data`: `tls.crt`, `tls.key`. */
  readonly data: Readonly<Record<string, string>>;
}

/** A key Secret's certificate and private key, checked to belong together. */
export interface ParsedKeySecret {
  readonly fingerprint: string;
  readonly certificatePem: string;
  readonly identity: CertIdentity;
  readonly recipient: CertRecipient;
}

/**
 * Parses the certificate and RSA private key of a key Secret and checks that
 * they match. Returns them with the key's fingerprint. Throws
 * SealboxError('INPUT') naming the Secret (after `what`, when given), never
 * the key.
 */
export function parseKeySecret(s: KeySecretParts, what?: string): ParsedKeySecret {
  const who = `${what === undefined ? '' : `${what}: `}key secret "${s.name}"`;
  const crt = s.data['tls.crt'];
  const key = s.data['tls.key'];
  if (crt === undefined || key === undefined) throw new SealboxError('INPUT', `${who} lacks tls.crt or tls.key`);
  const certificatePem = Buffer.from(crt, 'base64').toString('utf8');
  const identity = CertIdentity.fromPem(Buffer.from(key, 'base64'), `${who} tls.key`);
  const recipient = CertRecipient.fromPem(certificatePem, `${who} tls.crt`);
  if (recipient.recipient.id !== identity.fingerprint) throw new SealboxError('INPUT', `${who}: tls.crt does not belong to tls.key`);
  return { fingerprint: identity.fingerprint, certificatePem, identity, recipient };
}
