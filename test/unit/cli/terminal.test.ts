import { describe, expect, it } from 'vitest';
import { printable, terminalSafe } from '../../../cli/terminal.js';

describe('terminalSafe', () => {
  it.each([
    ['an escape sequence that retitles the terminal', '\u001b]0;owned\u0007', '?]0;owned?'],
    ['a C1 control', 'a\u009bb', 'a?b'],
    ['a right-to-left override', 'file\u202etxt.yaml', 'file?txt.yaml'],
    ['a carriage return that overwrites the line', 'ok\rerror', 'ok?error'],
  ])('shows %s as ?', (_what, input, shown) => {
    expect(terminalSafe(input)).toBe(shown);
  });

  it('keeps newlines and ordinary text, accents included', () => {
    expect(terminalSafe('line one\nliné two')).toBe('line one\nliné two');
  });
});

describe('printable', () => {
  it('bounds the length and puts everything on one line', () => {
    expect(printable('a\nb\u001b[2Jc'.repeat(10), 8)).toBe('a?b?[2Jc');
  });
});
