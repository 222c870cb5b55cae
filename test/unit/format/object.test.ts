import { describe, expect, it } from 'vitest';
import { SealboxError } from '../../../src/errors.js';
import { isObject, optionalObject, rejectUnknown, requireObject, requireString, stringMap } from '../../../src/format/object.js';

describe('isObject', () => {
  it.each([
    [{}, true],
    [Object.create(null), true],
    [[], false],
    [null, false],
    ['x', false],
    [1, false],
    [undefined, false],
  ])('says %j is %s', (v, want) => {
    expect(isObject(v)).toBe(want);
  });
});

describe('field readers', () => {
  it.each([
    ['requireObject of a list', () => requireObject([], 'spec'), 'spec must be a mapping'],
    ['requireString of a number', () => requireString(1, 'type'), 'type must be a non-empty string'],
    ['requireString of an empty string', () => requireString('', 'type'), 'type must be a non-empty string'],
    ['optionalObject of a string', () => optionalObject('x', 'labels'), 'labels must be a mapping'],
    ['stringMap with a number', () => stringMap({ a: 'b', c: 1 }, 'labels'), 'labels."c" must be a string'],
    ['stringMap of a list', () => stringMap(['a'], 'labels'), 'labels must be a mapping'],
    ['rejectUnknown with an extra field', () => {
      rejectUnknown({ a: 1, b: 2 }, ['a'], 'spec');
    }, 'spec has unknown field "b"; allowed: a'],
  ])('%s throws INPUT', (_what, f, message) => {
    expect(f).toThrow(new SealboxError('INPUT', message));
    try {
      f();
    } catch (err) {
      expect((err as SealboxError).code).toBe('INPUT');
    }
  });

  it('reads optional and present values', () => {
    expect(optionalObject(undefined, 'x')).toEqual({});
    expect(optionalObject(null, 'x')).toEqual({});
    expect(stringMap(undefined, 'x')).toEqual({});
    expect(stringMap({ a: 'b' }, 'x')).toEqual({ a: 'b' });
    expect(requireString('s', 'x')).toBe('s');
    expect(() => {
      rejectUnknown({ a: 1 }, ['a', 'b'], 'x');
    }).not.toThrow();
  });
});
