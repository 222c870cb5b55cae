import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSealedValue, isGroupId, parseSealedValue } from '../../../src/crypto/value.js';
import type { SealedValue } from '../../../src/crypto/value.js';
import { SealboxError } from '../../../src/errors.js';

const group = '0123456789abcdef';
const body32 = Buffer.alloc(32, 7).toString('base64');

describe('isGroupId', () => {
  it.each([
    [group, true],
    ['ffffffffffffffff', true],
    ['0123456789ABCDEF', false],
    ['0123456789abcde', false],
    ['0123456789abcdef0', false],
    ['0123456789abcdeg', false],
    ['', false],
  ])('says %j is %s', (s, want) => {
    expect(isGroupId(s)).toBe(want);
  });
});

describe('sealed values', () => {
  it('are written sb1:GROUP:BASE64', () => {
    expect(encodeSealedValue({ groupId: group, sealed: new Uint8Array([1, 2, 3]) })).toBe(`sb1:${group}:AQID`);
  });

  it('parse back into their group and bytes', () => {
    expect(parseSealedValue(`sb1:${group}:${body32}`, 'v')).toEqual({ groupId: group, sealed: new Uint8Array(32).fill(7) });
  });

  it.each([
    ['another version prefix', `sb2:${group}:${body32}`, 'is not a sealed value'],
    ['no prefix', `${group}:${body32}`, 'is not a sealed value'],
    ['a plaintext value', 'hunter2', 'is not a sealed value'],
    ['an extra field', `sb1:${group}:${body32}:x`, 'is not a sealed value'],
    ['an uppercase group', `sb1:${group.toUpperCase()}:${body32}`, 'invalid data-key group'],
    ['a short group', `sb1:abc:${body32}`, 'invalid data-key group'],
    ['an empty group', `sb1::${body32}`, 'invalid data-key group'],
    ['URL-safe base64', `sb1:${group}:${Buffer.alloc(33, 0xfb).toString('base64url')}`, 'not valid base64'],
    ['base64 with a line break', `sb1:${group}:${body32.slice(0, 8)}\n${body32.slice(8)}`, 'not valid base64'],
    ['a body of 31 bytes', `sb1:${group}:${Buffer.alloc(31).toString('base64')}`, 'truncated'],
    ['an empty body', `sb1:${group}:`, 'truncated'],
  ])('refuses %s as INPUT, naming the value', (_what, text, message) => {
    let caught: unknown;
    try {
      parseSealedValue(text, 'value "password"');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SealboxError);
    expect((caught as SealboxError).code).toBe('INPUT');
    expect((caught as SealboxError).message).toContain('value "password"');
    expect((caught as SealboxError).message).toContain(message);
  });

  it('keep a hostile group id out of the message beyond 40 characters', () => {
    expect(() => parseSealedValue(`sb1:${'x'.repeat(5000)}:${body32}`, 'v')).toThrow(/^v names an invalid data-key group "x{40}…\(\+4960 chars\)"$/);
  });

  it('round-trip through text (property)', () => {
    const value = fc.record({
      groupId: fc.stringMatching(/^[0-9a-f]{16}$/),
      sealed: fc.uint8Array({ minLength: 32, maxLength: 300 }),
    });
    fc.assert(
      fc.property(value, (v: SealedValue) => {
        expect(parseSealedValue(encodeSealedValue(v), 'v')).toEqual(v);
      }),
    );
  });

  it('never throw anything but SealboxError on arbitrary text (property)', () => {
    const text = fc.oneof(fc.string(), fc.string().map((s) => `sb1:${group}:${s}`), fc.string().map((s) => `sb1:${s}`));
    fc.assert(
      fc.property(text, (s) => {
        try {
          parseSealedValue(s, 'v');
        } catch (err) {
          expect(err).toBeInstanceOf(SealboxError);
        }
      }),
    );
  });
});
