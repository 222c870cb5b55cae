import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { secureRandom } from './aead.js';
import type { RandomSource } from './aead.js';

/**
 * The value format of Bitnami Sealed Secrets (bitnami-labs/sealed-secrets,
 * pkg/crypto/crypto.go, HybridEncrypt / HybridDecrypt), for
 * `bitnami.com/v1alpha1` SealedSecrets:
 *
 *   uint16 BE length of the RSA ciphertext ‖ RSA-OAEP(SHA-256, MGF1-SHA-256,
 *   label) of a fresh 32-byte session key ‖ AES-GCM(value, zero 12-byte
 *   nonce, no AAD) with its 16-byte tag
 *
 * (base64 of that in `spec.encryptedData`). The label binds the value to its
 * scope (see {@link bitnamiLabel}). Values name no key: an unsealer tries each.
 */

/** Where a Sealed Secrets value may be unsealed, as its annotations say. */
export type BitnamiScope = 'strict' | 'namespace-wide' | 'cluster-wide';

/** Annotation of a cluster-wide SealedSecret (checked first). */
export const BITNAMI_CLUSTER_WIDE = 'sealedsecrets.bitnami.com/cluster-wide';
/** Annotation of a namespace-wide SealedSecret. */
export const BITNAMI_NAMESPACE_WIDE = 'sealedsecrets.bitnami.com/namespace-wide';

/** Bytes of a session key kubeseal makes. */
export const BITNAMI_SESSION_KEY_BYTES = 32;
const NONCE = new Uint8Array(12);
const TAG_BYTES = 16;
const LENGTH_BYTES = 2;

/**
 * Returns the scope that a SealedSecret's annotations give it, as
 * `SecretScope` does: `cluster-wide: "true"` first, then
 * `namespace-wide: "true"`, else strict. Any other value counts as absent.
 */
export function bitnamiScopeOf(annotations: Readonly<Record<string, string>> | undefined): BitnamiScope {
  if (annotations?.[BITNAMI_CLUSTER_WIDE] === 'true') return 'cluster-wide';
  if (annotations?.[BITNAMI_NAMESPACE_WIDE] === 'true') return 'namespace-wide';
  return 'strict';
}

/**
 * Returns the RSA-OAEP label of a scope (`EncryptionLabel`): `namespace/name`
 * for strict, `namespace` for namespace-wide, empty for cluster-wide.
 */
export function bitnamiLabel(scope: BitnamiScope, namespace: string, name: string): Uint8Array {
  const text = scope === 'cluster-wide' ? '' : scope === 'namespace-wide' ? namespace : `${namespace}/${name}`;
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** The two parts of a Sealed Secrets value. */
export interface BitnamiParts {
  /** RSA-OAEP ciphertext of the session key. */
  readonly wrapped: Uint8Array;
  /** AES-GCM ciphertext of the value, tag last. */
  readonly sealed: Uint8Array;
}

/**
 * Splits a decoded value into its RSA and AES parts. Returns null when it is
 * shorter than its length prefix says (Sealed Secrets' `ErrTooShort`), or its
 * AES part cannot hold a tag (it would fail after the RSA operation).
 */
export function splitBitnamiValue(bytes: Uint8Array): BitnamiParts | null {
  if (bytes.length < LENGTH_BYTES) return null;
  const rsaLength = (bytes[0] ?? 0) * 256 + (bytes[1] ?? 0);
  if (bytes.length < LENGTH_BYTES + rsaLength + TAG_BYTES) return null;
  return { wrapped: bytes.subarray(LENGTH_BYTES, LENGTH_BYTES + rsaLength), sealed: bytes.subarray(LENGTH_BYTES + rsaLength) };
}

/**
 * Decrypts the AES part with an unwrapped session key. Returns the value, or
 * null when the tag does not verify or the key is not an AES key (Go's
 * `aes.NewCipher` takes 16, 24 or 32 bytes; kubeseal makes 32).
 */
export function openBitnamiValue(sessionKey: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  const cipher = aesGcmName(sessionKey.length);
  if (cipher === undefined || sealed.length < TAG_BYTES) return null;
  const decipher = createDecipheriv(cipher, sessionKey, NONCE, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]));
  } catch {
    return null;
  }
}

/**
 * Seals one value for an RSA public key as kubeseal does; returns the bytes
 * (base64 them for `spec.encryptedData`). `random` gives the session key.
 */
export function sealBitnamiValue(publicKey: KeyObject, value: Uint8Array, label: Uint8Array, random: RandomSource = secureRandom): Uint8Array {
  const sessionKey = random(BITNAMI_SESSION_KEY_BYTES);
  const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, sessionKey);
  const cipher = createCipheriv('aes-256-gcm', sessionKey, NONCE, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(value), cipher.final(), cipher.getAuthTag()]);
  const prefix = Buffer.from([wrapped.length >> 8, wrapped.length & 0xff]);
  return new Uint8Array(Buffer.concat([prefix, wrapped, body]));
}

function aesGcmName(bytes: number): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' | undefined {
  if (bytes === 16) return 'aes-128-gcm';
  if (bytes === 24) return 'aes-192-gcm';
  return bytes === 32 ? 'aes-256-gcm' : undefined;
}

/**
 * Decrypts one decoded value with one RSA private key, synchronously (for the
 * CLI and tests; the controller unwraps off the event loop through
 * `CertIdentity.unwrapBitnami`). Returns null when the key or the label does
 * not fit, or the value does not authenticate: Sealed Secrets' format cannot
 * tell these apart.
 */
export function decryptBitnamiValue(privateKey: KeyObject, bytes: Uint8Array, label: Uint8Array): Uint8Array | null {
  const parts = splitBitnamiValue(bytes);
  if (parts === null) return null;
  let sessionKey: Uint8Array;
  try {
    const options = { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label };
    sessionKey = new Uint8Array(privateDecrypt(options, parts.wrapped));
  } catch {
    return null;
  }
  return openBitnamiValue(sessionKey, parts.sealed);
}
