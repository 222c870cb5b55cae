import { SealboxError } from '../errors.js';

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encodes bytes as standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decodes canonical standard base64 (padding required, no whitespace).
 * Node's decoder silently skips bad characters, so the text is checked first.
 * Throws SealboxError('INPUT') naming `what` when the text is not base64.
 */
export function fromBase64(text: string, what: string): Uint8Array {
  const bytes = BASE64_RE.test(text) ? Buffer.from(text, 'base64') : undefined;
  // Canonical only: unused bits of the last character must be zero ("AB==" is not).
  if (bytes === undefined || bytes.toString('base64') !== text) {
    throw new SealboxError('INPUT', `${what} is not valid base64`);
  }
  return new Uint8Array(bytes);
}

/** True when `text` is canonical standard base64. */
export function isBase64(text: string): boolean {
  return BASE64_RE.test(text) && Buffer.from(text, 'base64').toString('base64') === text;
}
