// The leak detector of the hygiene test (test/chaos/leaks.ts) must find a
// plaintext however it was encoded into a haystack; otherwise "none found"
// would prove nothing.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findLeaks, leakNeedles } from '../chaos/leaks.js';

const MARKER = `marker-${randomBytes(12).toString('hex')}`;
const needles = leakNeedles(MARKER);
const found = (text: string): boolean => findLeaks(new Map([['x', text]]), needles).length > 0;

describe('leakNeedles', () => {
  it.each([0, 1, 2, 3, 4, 5])('finds the plaintext base64-encoded after %i other bytes', (offset) => {
    expect(found(Buffer.from(`${'p'.repeat(offset)}${MARKER}-suffix`).toString('base64'))).toBe(true);
    expect(found(Buffer.from(`${'p'.repeat(offset)}${MARKER}`).toString('base64'))).toBe(true);
  });

  it('finds it as text, inside JSON, as hex and as base64url', () => {
    expect(found(`{"msg":"x ${MARKER} y"}`)).toBe(true);
    expect(found(Buffer.from(`a${MARKER}`).toString('hex'))).toBe(true);
    expect(found(Buffer.from(MARKER).toString('base64url'))).toBe(true);
  });

  it('does not find it where it is not: another marker, or a prefix of it', () => {
    expect(found(`marker-${randomBytes(12).toString('hex')}`)).toBe(false);
    expect(found(MARKER.slice(0, 12))).toBe(false);
    expect(found(Buffer.from(MARKER.slice(0, 12)).toString('base64'))).toBe(false);
  });
});
