import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, isBase64, toBase64 } from '../../../src/crypto/base64.js';
import { expectSealboxError } from '../../helpers/errors.js';

describe('base64', () => {
  it.each([
    ['', true],
    ['AA==', true],
    ['AAA=', true],
    ['AAAA', true],
    ['/+9z', true],
    ['aGVsbG8=', true],
    ['aGVsbG8', false],
    ['aGVsbG8==', false],
    ['A===', false],
    ['AA=A', false],
    ['aGVs bG8=', false],
    ['aGVsbG8=\n', false],
    ['-_-_', false],
    ['aGVs*G8=', false],
    ['=', false],
    // Non-zero padding bits: Node decodes "AB==" like "AA==", so two texts would name one value.
    ['AB==', false],
    ['AAB=', false],
  ])('says %j is canonical base64: %s', (text, want) => {
    expect(isBase64(text)).toBe(want);
  });

  it('encodes a view of a larger buffer, not the whole buffer', () => {
    const big = Buffer.from('xxhelloxx');
    expect(toBase64(new Uint8Array(big.buffer, big.byteOffset + 2, 5))).toBe('aGVsbG8=');
  });

  it('refuses text that Node would silently decode, naming what it was', () => {
    expectSealboxError(() => fromBase64('aGV*sbG8=', 'data."password"'), 'INPUT', /^data\."password" is not valid base64$/);
    expectSealboxError(() => fromBase64('%%%%', 'x'), 'INPUT', /^x is not valid base64$/);
  });

  it('decodes what it encodes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(fromBase64(toBase64(bytes), 'x')).toEqual(bytes);
        expect(isBase64(toBase64(bytes))).toBe(true);
      }),
    );
  });

  it('accepts exactly the strings it can round-trip (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 24 }), fc.stringMatching(/^[A-Za-z0-9+/]{0,9}={0,2}$/)), (s) => {
        if (isBase64(s)) expect(toBase64(fromBase64(s, 'x'))).toBe(s);
        else expectSealboxError(() => fromBase64(s, 'x'), 'INPUT', /^x is not valid base64$/);
      }),
    );
  });
});
