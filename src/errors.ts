/**
 * The one error class of sealbox. Callers tell failures apart by `code`,
 * never by message text. Messages are lowercase, name the object concerned
 * and say what to do; they never carry plaintext, data keys or private keys.
 */
export type ErrorCode =
  /** Malformed or unsupported input: YAML, manifest, sealed document, flags. */
  | 'INPUT'
  /** A value or data-key group is used outside the scope it was sealed for. */
  | 'SCOPE'
  /** None of the available keys is a recipient of a data-key group. */
  | 'NO_KEY'
  /** Authentication failed: ciphertext, wrapped key or recipient altered. */
  | 'TAMPERED'
  /** A key provider (KMS, Key Vault, certificate source) failed or is unreachable. */
  | 'PROVIDER'
  /** The Kubernetes API refused or failed a request. */
  | 'KUBE'
  /** Reading or writing a local file failed. */
  | 'IO'
  /** A check (`verify`, `rotate --check`) found problems. */
  | 'FINDINGS'
  /** A bug: an invariant of sealbox itself does not hold. */
  | 'INTERNAL';

/** Error with a machine-readable code and an optional cause. */
export class SealboxError extends Error {
  override readonly name = 'SealboxError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `err` is a SealboxError, optionally with the given code. */
export function isSealboxError(err: unknown, code?: ErrorCode): err is SealboxError {
  return err instanceof SealboxError && (code === undefined || err.code === code);
}

/**
 * Process exit code for each error code; documented in README.md.
 * 2 is left to usage errors reported by the argument parser.
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  INTERNAL: 1,
  INPUT: 3,
  SCOPE: 4,
  NO_KEY: 5,
  TAMPERED: 6,
  PROVIDER: 7,
  KUBE: 8,
  IO: 9,
  FINDINGS: 10,
};
