import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../../src/controller/log.js';

describe('LogLimiter', () => {
  it('lets through a few lines per resource and window, and counts the rest', () => {
    const l = new LogLimiter(3, 1000);
    const got = Array.from({ length: 10 }, (_, i) => l.allow('ns/a', i));
    expect(got).toEqual([0, 0, 0, undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(l.allow('ns/b', 10)).toBe(0);
    expect(l.allow('ns/a', 1000)).toBe(7);
    expect(l.allow('ns/a', 1001)).toBe(0);
  });

  it('tracks at most maxKeys resources', () => {
    const l = new LogLimiter(1, 60_000, 100);
    for (let i = 0; i < 10_000; i++) l.allow(`ns/r${i}`, i);
    // r0 was dropped long ago, so it starts afresh; the newest is still limited
    expect(l.allow('ns/r0', 10_000)).toBe(0);
    expect(l.allow('ns/r9999', 10_000)).toBeUndefined();
  });
});
