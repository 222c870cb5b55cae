import { X509Certificate, constants, createHash, createPrivateKey, createPublicKey, publicEncrypt, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { wrapLabel } from '../crypto/binding.js';
import type { Binding, KeyUnwrapper, KeyWrapper, RecipientRef, WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';

const { subtle } = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
const OAEP = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
/** Smallest RSA modulus sealbox accepts for a cluster key. */
export const MIN_RSA_BITS = 2048;

/**
 * Returns the recipient id of an RSA public key: lowercase hex SHA-256 of its
 * DER SubjectPublicKeyInfo (what `sealbox cert inspect` prints).
 */
export function publicKeyFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** RSA-OAEP-SHA256 of a data key for `key`, labelled with the binding (FORMAT.md section 5). */
function oaepWrap(key: KeyObject, dataKey: Uint8Array, binding: Binding): Uint8Array {
  const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: wrapLabel(binding) }, dataKey);
  return new Uint8Array(wrapped);
}

function checkRsa(key: KeyObject, source: string): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS) {
    throw new SealboxError('INPUT', `${source}: not an RSA key of at least ${MIN_RSA_BITS} bits; use a certificate from "sealbox cert fetch" or "sealbox keygen"`);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/**
 * Splits a certificate file into its certificates: every PEM CERTIFICATE
 * block, in file order; a file without PEM blocks is read as one (DER)
 * certificate. Throws SealboxError('INPUT') naming `source` when one of
 * them is not an X.509 certificate.
 */
export function certificatesFromPem(pem: string | Uint8Array, source: string): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1');
  const blocks = text.match(PEM_CERTIFICATE) ?? [pem];
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      const which = blocks.length > 1 ? ` (certificate ${i + 1})` : '';
      throw new SealboxError('INPUT', `${source}${which}: not a PEM X.509 certificate; use a certificate from "sealbox cert fetch" or "sealbox keygen"`, { cause: err });
    }
  });
}

/**
 * Wraps data keys for a cluster's public certificate with RSA-OAEP-SHA256.
 * The public-key operation is cheap (~0.1 ms), so it runs synchronously: a
 * hop to the thread pool per wrap costs more than the operation itself.
 */
export class CertRecipient implements KeyWrapper {
  readonly recipient: RecipientRef;
  readonly certificate: X509Certificate;
  readonly #key: KeyObject;

  private constructor(certificate: X509Certificate, source: string) {
    this.certificate = certificate;
    const publicKey = certificate.publicKey;
    checkRsa(publicKey, source);
    this.recipient = { type: 'cert', id: publicKeyFingerprint(publicKey) };
    this.#key = publicKey;
  }

  /**
   * Parses a PEM certificate. Throws SealboxError('INPUT') naming `source`
   * when it is not a PEM X.509 certificate with an RSA key of 2048+ bits.
   */
  static fromPem(pem: string | Uint8Array, source: string): CertRecipient {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new SealboxError('INPUT', `${source}: not a PEM X.509 certificate; use a certificate from "sealbox cert fetch" or "sealbox keygen"`, { cause: err });
    }
    return new CertRecipient(cert, source);
  }

  /** True when the certificate's validity period has ended. */
  isExpired(now: Date = new Date()): boolean {
    return new Date(this.certificate.validTo).getTime() < now.getTime();
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so a failure is a rejection, as for every other wrapper
  async wrap(dataKey: Uint8Array, binding: Binding): Promise<WrappedKey> {
    return { ...this.recipient, wrapped: oaepWrap(this.#key, dataKey, binding) };
  }
}

/**
 * Copies of a private key imported for WebCrypto: one per thread of libuv's
 * pool (UV_THREADPOOL_SIZE, default 4), where the operations run. Node holds
 * a lock on an imported key for each operation, so the operations on one
 * copy run one at a time whatever the cores. RSA-4096 with four in flight on
 * 2 cores: 3.1 ms wall per operation with one copy, 2.0 with two, 1.6 with
 * four (docs/BENCHMARKS.md "RSA lanes").
 */
export const RSA_LANES = Math.max(1, Math.min(1024, Number(process.env.UV_THREADPOOL_SIZE) || 4));

/** One copy of the private key for WebCrypto (imported on its first use), and the operations using it now. */
interface Lane {
  key: Promise<CryptoKey> | undefined;
  busy: number;
}

/**
 * Unwraps data keys wrapped for one RSA private key. RSA runs through
 * WebCrypto, off the event loop, on RSA_LANES copies of the key, so a
 * controller uses every core.
 */
export class CertIdentity implements KeyUnwrapper {
  readonly fingerprint: string;
  readonly description: string;
  /** RSA private operations performed; counted for metrics and tests. */
  privateOps = 0;
  /** Kept to import lanes from; native memory, as an imported CryptoKey is. */
  readonly #privateKey: KeyObject;
  readonly #lanes: readonly Lane[] = Array.from({ length: RSA_LANES }, (): Lane => ({ key: undefined, busy: 0 }));
  /** Bytes of an RSA-OAEP ciphertext for this key: the modulus length. */
  readonly #wrappedBytes: number;
  readonly #publicKey: KeyObject;

  private constructor(privateKey: KeyObject, source: string) {
    checkRsa(privateKey, source);
    this.#wrappedBytes = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    this.#publicKey = createPublicKey(privateKey);
    this.fingerprint = publicKeyFingerprint(this.#publicKey);
    this.description = `cert:${this.fingerprint.slice(0, 12)}`;
    this.#privateKey = privateKey;
  }

  /**
   * The lane's imported key, imported now if it is its first use: a key
   * kept after a rotation and never used costs no import. Rejects with
   * SealboxError('PROVIDER') naming the key when WebCrypto refuses it.
   */
  #laneKey(lane: Lane): Promise<CryptoKey> {
    if (lane.key === undefined) {
      const pkcs8 = this.#privateKey.export({ type: 'pkcs8', format: 'der' });
      lane.key = subtle
        .importKey('pkcs8', pkcs8, OAEP, false, ['decrypt'])
        // The DER copy of the key is not left for the garbage collector to find.
        .finally(() => pkcs8.fill(0))
        .catch(() => {
          throw new SealboxError('PROVIDER', `private key ${this.description} could not be imported for RSA-OAEP: replace the key Secret holding it`);
        });
    }
    return lane.key;
  }

  /**
   * RSA-OAEP decryption of `wrapped` with `label` on the least busy copy of
   * the key; undefined when it does not decrypt (a wrong key or label, or an
   * altered ciphertext). Rejects only when the key cannot be imported.
   */
  async #decrypt(label: Uint8Array, wrapped: Uint8Array): Promise<ArrayBuffer | undefined> {
    const lane = this.#lanes.reduce((a, b) => (b.busy < a.busy ? b : a));
    lane.busy++;
    try {
      const key = await this.#laneKey(lane);
      return await subtle.decrypt({ name: 'RSA-OAEP', label }, key, wrapped).catch(() => undefined);
    } finally {
      lane.busy--;
    }
  }

  /**
   * Parses a PEM private key (PKCS#8 or PKCS#1). Throws SealboxError('INPUT')
   * naming `source` (never the key) when it is not an RSA private key.
   */
  static fromPem(pem: string | Uint8Array, source: string): CertIdentity {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: Buffer.from(pem), format: 'pem' });
    } catch {
      // The parser's message may quote key material: leave it out.
      throw new SealboxError('INPUT', `${source}: not a PEM RSA private key`);
    }
    return new CertIdentity(key, source);
  }

  /** Returns a wrapper for this key's public half, to seal for it without its certificate (`sealbox edit --key`). */
  wrapper(): KeyWrapper {
    const key = this.#publicKey;
    const recipient: RecipientRef = { type: 'cert', id: this.fingerprint };
    return { recipient, wrap: (dataKey, binding) => Promise.resolve({ ...recipient, wrapped: oaepWrap(key, dataKey, binding) }) };
  }

  /**
   * True when {@link CertIdentity.unwrapBitnami} would make an RSA private
   * operation for `wrapped`: when it is exactly as long as the modulus.
   * Go's rsa.DecryptOAEP would read a shorter ciphertext as one with
   * leading zeros, but kubeseal (Go's EncryptOAEP) always writes exactly the
   * modulus length: anything else is refused before the private-key
   * operation, or a tenant's 4-byte values would each cost one per key.
   */
  costsBitnami(wrapped: Uint8Array): boolean {
    return wrapped.length === this.#wrappedBytes;
  }

  /**
   * Unwraps the session key of a Sealed Secrets value (src/crypto/bitnami.ts)
   * off the event loop. Returns null when it does not decrypt with this key
   * and `label`: such values name no key, so a miss is not an error.
   */
  async unwrapBitnami(wrapped: Uint8Array, label: Uint8Array): Promise<Uint8Array | null> {
    if (!this.costsBitnami(wrapped)) return null;
    this.privateOps++;
    const opened = await this.#decrypt(label, wrapped);
    return opened === undefined ? null : new Uint8Array(opened);
  }

  async unwrap(stanza: WrappedKey, binding: Binding): Promise<Uint8Array | null> {
    if (stanza.type !== 'cert' || stanza.id !== this.fingerprint) return null;
    // Every OAEP ciphertext is exactly as long as the modulus: anything else
    // is refused before the private-key operation it would cost.
    if (stanza.wrapped.length !== this.#wrappedBytes) {
      throw new SealboxError(
        'TAMPERED',
        `the wrapped data key is ${String(stanza.wrapped.length)} bytes where this key's are ${String(this.#wrappedBytes)}: it was altered or truncated`,
      );
    }
    this.privateOps++;
    const dataKey = await this.#decrypt(wrapLabel(binding), stanza.wrapped);
    if (dataKey === undefined) {
      throw new SealboxError(
        'TAMPERED',
        'the wrapped data key does not decrypt for this resource: it was altered, or copied from a resource with another namespace, name or scope',
      );
    }
    return new Uint8Array(dataKey);
  }
}
