import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DATA_KEY_BYTES,
  KEY_CHECK_BYTES,
  NONCE_BYTES,
  TAG_BYTES,
  decryptValue,
  encryptValue,
  generateDataKey,
  groupIdOf,
  keyCheckOf,
  matchesGroupId,
  secureRandom,
} from '../../../src/crypto/aead.js';

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const otherKey = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const aad = Buffer.from('sealbox.dev/v1\0value\0cluster\0g\0password');
const plaintext = Buffer.from('correct horse battery staple');

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const i = at < 0 ? copy.length + at : at;
  copy[i] = (copy[i] ?? 0) ^ 0x80;
  return copy;
}

describe('data keys', () => {
  it('draws 32 bytes from the random source it is given', () => {
    const sizes: number[] = [];
    const k = generateDataKey((n) => {
      sizes.push(n);
      return new Uint8Array(n).fill(9);
    });
    expect(sizes).toEqual([DATA_KEY_BYTES]);
    expect(k).toEqual(new Uint8Array(32).fill(9));
  });

  it('are different on every call by default', () => {
    expect(Buffer.from(generateDataKey()).equals(Buffer.from(generateDataKey()))).toBe(false);
    expect(secureRandom(5)).toHaveLength(5);
  });
});

describe('group ids', () => {
  it('are the first 8 bytes, hex, of HMAC-SHA256(dataKey, "sealbox.dev/v1 group-id")', () => {
    const want = createHmac('sha256', key).update('sealbox.dev/v1 group-id').digest('hex').slice(0, 16);
    expect(groupIdOf(key)).toBe(want);
    expect(groupIdOf(key)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('commit to their data key', () => {
    expect(matchesGroupId(key, groupIdOf(key))).toBe(true);
    expect(matchesGroupId(otherKey, groupIdOf(key))).toBe(false);
  });

  it.each(['', 'short', '0'.repeat(15), '0'.repeat(17)])('do not match the malformed id "%s"', (id) => {
    expect(matchesGroupId(key, id)).toBe(false);
  });
});

describe('key checks', () => {
  it('are the first 4 bytes of HMAC-SHA256(dataKey, "sealbox.dev/v1 key-check" 0x00 name)', () => {
    const want = createHmac('sha256', key).update('sealbox.dev/v1 key-check\0password').digest().subarray(0, 4);
    expect(Buffer.from(keyCheckOf(key, 'password'))).toEqual(want);
  });

  it('differ between key names and between data keys', () => {
    expect(keyCheckOf(key, 'a')).not.toEqual(keyCheckOf(key, 'b'));
    expect(keyCheckOf(key, 'a')).not.toEqual(keyCheckOf(otherKey, 'a'));
  });
});

describe('value encryption', () => {
  const sealed = encryptValue(key, 'password', plaintext, aad);

  it('lays out keyCheck, nonce, ciphertext and tag', () => {
    expect(sealed).toHaveLength(KEY_CHECK_BYTES + NONCE_BYTES + plaintext.length + TAG_BYTES);
    expect(sealed.subarray(0, KEY_CHECK_BYTES)).toEqual(keyCheckOf(key, 'password'));
  });

  it('uses the nonce drawn from the random source', () => {
    const nonce = new Uint8Array(NONCE_BYTES).fill(0x42);
    const out = encryptValue(key, 'k', plaintext, aad, () => nonce);
    expect(out.subarray(KEY_CHECK_BYTES, KEY_CHECK_BYTES + NONCE_BYTES)).toEqual(nonce);
  });

  it('gives a different ciphertext each time the same value is sealed', () => {
    expect(encryptValue(key, 'password', plaintext, aad)).not.toEqual(sealed);
  });

  it('opens what it sealed', () => {
    expect(Buffer.from(decryptValue(key, 'password', sealed, aad) as Uint8Array)).toEqual(plaintext);
  });

  it('opens an empty value', () => {
    const empty = encryptValue(key, 'e', new Uint8Array(0), aad);
    expect(empty).toHaveLength(KEY_CHECK_BYTES + NONCE_BYTES + TAG_BYTES);
    expect(decryptValue(key, 'e', empty, aad)).toEqual(new Uint8Array(0));
  });

  it('reports a value found under another key name as moved', () => {
    expect(decryptValue(key, 'username', sealed, aad)).toBe('moved');
  });

  it.each([
    ['a bit of the nonce', KEY_CHECK_BYTES],
    ['a bit of the ciphertext', KEY_CHECK_BYTES + NONCE_BYTES + 1],
    ['a bit of the tag', -1],
  ])('reports %s flipped as tampered', (_what, at) => {
    expect(decryptValue(key, 'password', flip(sealed, at), aad)).toBe('tampered');
  });

  it('reports other additional data as tampered', () => {
    expect(decryptValue(key, 'password', sealed, Buffer.from('sealbox.dev/v1\0value\0cluster\0g\0other'))).toBe('tampered');
  });

  it('reports another data key as moved, since the key check is keyed', () => {
    expect(decryptValue(otherKey, 'password', sealed, aad)).toBe('moved');
  });

  it.each([0, 1, KEY_CHECK_BYTES + NONCE_BYTES + TAG_BYTES - 1])('reports a value of %i bytes as tampered', (n) => {
    expect(decryptValue(key, 'password', sealed.subarray(0, n), aad)).toBe('tampered');
  });

  it('reports a value cut short by one byte as tampered', () => {
    expect(decryptValue(key, 'password', sealed.subarray(0, sealed.length - 1), aad)).toBe('tampered');
  });

  it('opens any bytes it sealed under any key name (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.string({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 64 }), (bytes, name, extra) => {
        const s = encryptValue(key, name, bytes, extra);
        expect(decryptValue(key, name, s, extra)).toEqual(bytes);
      }),
    );
  });
});
