import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FORMAT_LABEL } from './binding.js';

/** Bytes in a data key (AES-256). */
export const DATA_KEY_BYTES = 32;
/** Bytes in a GCM nonce. */
export const NONCE_BYTES = 12;
/** Bytes in a GCM tag. */
export const TAG_BYTES = 16;
/** Bytes of the key-name check that precedes each sealed value. */
export const KEY_CHECK_BYTES = 4;
/** Hex characters in a group id (8 bytes). */
export const GROUP_ID_HEX = 16;
/** Hex characters in a key commitment (32 bytes, HMAC-SHA256). */
export const COMMITMENT_HEX = 64;

/** Source of random bytes; injectable so test vectors can be reproduced. */
export type RandomSource = (size: number) => Uint8Array;

/** Cryptographically secure random bytes from node:crypto. */
export const secureRandom: RandomSource = (size) => new Uint8Array(randomBytes(size));

/** Returns a fresh 256-bit data key. */
export function generateDataKey(random: RandomSource = secureRandom): Uint8Array {
  return random(DATA_KEY_BYTES);
}

/**
 * Returns the group id of a data key: the first 8 bytes, hex, of
 * HMAC-SHA256(dataKey, "sealbox.dev/v1 group-id"). It names the group in the
 * document and commits to the key, so a wrapped key swapped for another one
 * is caught before any value is opened.
 */
export function groupIdOf(dataKey: Uint8Array): string {
  return createHmac('sha256', dataKey).update(`${FORMAT_LABEL} group-id`).digest('hex').slice(0, GROUP_ID_HEX);
}

/** True when `dataKey` is the key the group id commits to (constant time). */
export function matchesGroupId(dataKey: Uint8Array, groupId: string): boolean {
  const want = Buffer.from(groupIdOf(dataKey), 'utf8');
  const got = Buffer.from(groupId, 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * Returns the key commitment of a data key: HMAC-SHA256(dataKey,
 * "sealbox.dev/v1 key-commitment"), 64 lowercase hex digits. Stored per
 * group and checked right after unwrapping, it makes a group name exactly
 * one data key: two 32-byte keys with the same commitment are a SHA-256
 * collision (2^128 work), so no group can unwrap to one key for one
 * recipient and to another key for another (the "invisible salamanders"
 * attack on multi-recipient AES-GCM). The 64-bit group id and the 32-bit key
 * check together offered only ~2^48. Only meaningful for 32-byte keys: HMAC
 * pads shorter keys with zeros, so callers check the length first.
 */
export function keyCommitmentOf(dataKey: Uint8Array): string {
  return createHmac('sha256', dataKey).update(`${FORMAT_LABEL} key-commitment`).digest('hex');
}

/**
 * True when `dataKey` is a 32-byte key and both the group id and the key
 * commitment are its own (constant-time comparisons).
 */
export function isCommittedKey(dataKey: Uint8Array, groupId: string, commitment: string): boolean {
  if (dataKey.length !== DATA_KEY_BYTES) return false;
  const want = Buffer.from(keyCommitmentOf(dataKey), 'utf8');
  const got = Buffer.from(commitment, 'utf8');
  const committed = want.length === got.length && timingSafeEqual(want, got);
  return matchesGroupId(dataKey, groupId) && committed;
}

/**
 * Returns the key-name check of a value: the first 4 bytes of
 * HMAC-SHA256(dataKey, "sealbox.dev/v1 key-check" 0x00 keyName). It lets an
 * unsealer tell a value moved to another key name from a corrupted one; the
 * GCM tag stays the only authority on integrity.
 */
export function keyCheckOf(dataKey: Uint8Array, keyName: string): Uint8Array {
  const mac = createHmac('sha256', dataKey).update(`${FORMAT_LABEL} key-check\0${keyName}`).digest();
  return new Uint8Array(mac.subarray(0, KEY_CHECK_BYTES));
}

/**
 * Encrypts one value with AES-256-GCM under a fresh nonce.
 * Returns keyCheck ‖ nonce ‖ ciphertext ‖ tag.
 */
export function encryptValue(
  dataKey: Uint8Array,
  keyName: string,
  plaintext: Uint8Array,
  aad: Uint8Array,
  random: RandomSource = secureRandom,
): Uint8Array {
  const nonce = random(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([keyCheckOf(dataKey, keyName), nonce, body, cipher.getAuthTag()]));
}

/** Why a value did not open: it belongs to another key name, or it does not authenticate. */
export type OpenFailure = 'moved' | 'tampered';

/**
 * Decrypts keyCheck ‖ nonce ‖ ciphertext ‖ tag. Returns the plaintext, or
 * the reason it failed: `moved` when the key check names another key,
 * `tampered` when the GCM tag does not verify. Callers turn the reason into
 * an error; the plaintext never reaches one.
 */
export function decryptValue(dataKey: Uint8Array, keyName: string, sealed: Uint8Array, aad: Uint8Array): Uint8Array | OpenFailure {
  if (sealed.length < KEY_CHECK_BYTES + NONCE_BYTES + TAG_BYTES) return 'tampered';
  if (!timingSafeEqual(sealed.subarray(0, KEY_CHECK_BYTES), keyCheckOf(dataKey, keyName))) return 'moved';
  const nonce = sealed.subarray(KEY_CHECK_BYTES, KEY_CHECK_BYTES + NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(KEY_CHECK_BYTES + NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    return 'tampered';
  }
}
