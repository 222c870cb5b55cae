import { describe, expect, it } from 'vitest';
import { clip, quote, truncate } from '../../src/errors.js';

describe('quote and clip', () => {
  it.each<[string, string, number, string]>([
    ['a short name as it is', 'db', 64, '"db"'],
    ['quotes and backslashes escaped', 'a"b\\c', 64, '"a\\"b\\\\c"'],
    ['control characters escaped', 'a\nb\u001b[31m', 64, '"a\\nb\\u001b[31m"'],
    ['bidirectional and zero-width marks escaped', 'evil\u202eexe\u200b', 64, '"evil\\u202eexe\\u200b"'],
    ['a long text cut, saying how much was left out', 'x'.repeat(100), 10, `"${'x'.repeat(10)}…(+90 chars)"`],
  ])('writes %s', (_name, text, max, want) => {
    expect(quote(text, max)).toBe(want);
  });

  it('bounds a 1.2 MB text to a few dozen characters', () => {
    expect(clip('y'.repeat(1_200_000)).length).toBeLessThan(100);
  });
});

describe('truncate', () => {
  it('cuts a long message and keeps a short one', () => {
    expect(truncate('abc', 10)).toBe('abc');
    expect(truncate('abcdef', 3)).toBe('abc…');
  });
});
