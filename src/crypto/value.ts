import { SealboxError, quote } from '../errors.js';
import { GROUP_ID_HEX, KEY_CHECK_BYTES, NONCE_BYTES, TAG_BYTES } from './aead.js';
import { fromBase64, toBase64 } from './base64.js';

/** Prefix of every sealed value of format v1. */
export const VALUE_PREFIX = 'sb1';

/** A sealed value as it appears in `spec.encryptedData`: `sb1:GROUP:BASE64`. */
export interface SealedValue {
  readonly groupId: string;
  /** keyCheck ‖ nonce ‖ ciphertext ‖ tag; see keyCheckOf. */
  readonly sealed: Uint8Array;
}

const GROUP_RE = new RegExp(`^[0-9a-f]{${GROUP_ID_HEX}}$`);

/** True when `s` has the shape of a group id. */
export function isGroupId(s: string): boolean {
  return GROUP_RE.test(s);
}

/** Encodes a sealed value as `sb1:GROUP:BASE64`. */
export function encodeSealedValue(v: SealedValue): string {
  return `${VALUE_PREFIX}:${v.groupId}:${toBase64(v.sealed)}`;
}

/**
 * Parses `sb1:GROUP:BASE64`. Throws SealboxError('INPUT') naming `what` when
 * the text is not a sealed value of format v1.
 */
export function parseSealedValue(text: string, what: string): SealedValue {
  const parts = text.split(':');
  if (parts.length !== 3 || parts[0] !== VALUE_PREFIX) {
    throw new SealboxError('INPUT', `${what} is not a sealed value: expected "${VALUE_PREFIX}:GROUP:BASE64"`);
  }
  const [, groupId = '', body = ''] = parts;
  if (!isGroupId(groupId)) {
    throw new SealboxError('INPUT', `${what} names an invalid data-key group ${quote(groupId, 40)}`);
  }
  const sealed = fromBase64(body, what);
  if (sealed.length < KEY_CHECK_BYTES + NONCE_BYTES + TAG_BYTES) {
    throw new SealboxError('INPUT', `${what} is truncated: shorter than a key check, a nonce and a tag`);
  }
  return { groupId, sealed };
}
