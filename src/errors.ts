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
  /** The controller declined to write: a Secret it does not own, or one another writer keeps changing back. */
  | 'REFUSED'
  /** Reading or writing a local file failed. */
  | 'IO'
  /** A check (`verify`, `rotate --check`) found problems. */
  | 'FINDINGS'
  /** A bug: an invariant of sealbox itself does not hold. */
  | 'INTERNAL';

/**
 * What the user can do about an error, as data rather than words: the CLI
 * renders it as the flags to pass (cli/hints.ts), the controller as text for
 * a SealedSecret's status (src/controller/hints.ts). The core's messages
 * name no CLI flag; the advice follows the message after "; ".
 */
export type ErrorHint =
  /** Nothing to seal for: no certificate, KMS key or configured recipient. */
  | { readonly kind: 'recipients-missing' }
  /** No private key was given to unwrap with. */
  | { readonly kind: 'private-key-missing' }
  /** The scope binds a namespace the Secret does not have. */
  | { readonly kind: 'namespace-missing' }
  /** The Secret has no name, or an invalid one. */
  | { readonly kind: 'name-missing' | 'name-invalid' }
  /** Values were sealed with another scope: seal them again with `scope`. */
  | { readonly kind: 'reseal-with-scope'; readonly scope: string }
  /** A value is bound to another name: seal it again under `name`, or with namespace scope. */
  | { readonly kind: 'reseal-for-name'; readonly name: string }
  /** A recipient's certificate is needed: give it, or (when `removable`) remove the recipient. */
  | { readonly kind: 'recipient-certificate-missing'; readonly removable: boolean }
  /** The namespace asked for differs from the manifest's: keep one of them. */
  | { readonly kind: 'namespace-conflict' }
  /** One name was asked for an input with several Secrets. */
  | { readonly kind: 'name-for-several' }
  /** A re-wrapping controller's answer was refused: check which controller answered. */
  | { readonly kind: 'controller-check' }
  /** No sealed secret of the file to merge into matches: seal into a new file. */
  | { readonly kind: 'merge-target-missing' }
  /** Several sealed secrets of the file to merge into match: name one. */
  | { readonly kind: 'merge-target-ambiguous' }
  /** Merged values take the file's scope, not `scope`: keep it, or seal the whole secret again. */
  | { readonly kind: 'merge-scope'; readonly scope: string }
  /** The controller cannot compact a group: a holder of its keys can, by rotating to a new data key. */
  | { readonly kind: 'compact-by-key-holder' }
  /** A parameter out of range: the key size, the validity, a recipient to remove, a KMS allow-list entry. */
  | { readonly kind: 'key-bits' | 'validity-days' | 'recipient-to-remove' | 'kms-allow-entry' };

/** Options of SealboxError. */
export interface SealboxErrorOptions {
  readonly cause?: unknown;
  readonly hint?: ErrorHint;
}

/** Error with a machine-readable code, an optional cause and an optional hint. */
export class SealboxError extends Error {
  override readonly name = 'SealboxError';
  readonly code: ErrorCode;
  readonly hint: ErrorHint | undefined;

  constructor(code: ErrorCode, message: string, options?: SealboxErrorOptions) {
    super(message, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.hint = options?.hint;
  }
}

/** Returns `message` followed by `advice` (the rendering of a hint), if any. */
export function withAdvice(message: string, advice: string | undefined): string {
  return advice === undefined || advice === '' ? message : `${message}; ${advice}`;
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
  REFUSED: 11,
};

// Characters JSON escaping leaves alone that would still hide or reorder
// text in a terminal, log viewer or `kubectl describe`: C1 controls, DEL,
// zero-width and bidirectional marks, line and paragraph separators, BOM.
const INVISIBLE = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Returns `text` bounded and escaped for a message, log line, event or
 * status: at most `max` characters of it (then `…` and how many were left
 * out), with quotes, backslashes, control and invisible characters written
 * as JSON-style escapes. The result is built from a bounded copy, so it
 * never keeps a huge input alive (a V8 substring can point into its parent).
 * Use it for every attacker-controlled text a message repeats (a name, a
 * key, a binding, a server's reason); `quote` adds the double quotes.
 */
export function clip(text: string, max = 64): string {
  const over = text.length - max;
  const head = over > 0 ? text.slice(0, max) : text;
  const escaped = JSON.stringify(head).slice(1, -1).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return over > 0 ? `${escaped}…(+${over} chars)` : escaped;
}

/** Returns `"text"`, bounded and escaped as `clip` does. */
export function quote(text: string, max = 64): string {
  return `"${clip(text, max)}"`;
}

/**
 * Returns `text` cut to at most `max` characters (then `…`), as a new flat
 * string: a message bound for a log line, event or status never keeps alive
 * a huge string that one of its parts was cut from. Does not escape; the
 * parts a message quotes are escaped by `quote` when it is built.
 */
export function truncate(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return Buffer.from(cut, 'utf8').toString('utf8');
}
