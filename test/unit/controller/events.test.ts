import { describe, expect, it } from 'vitest';
import { DEDUPE_ENTRY_BYTES, RecentEvents } from '../../../src/controller/events.js';

describe('RecentEvents', () => {
  it('remembers an event for its ttl, then lets it through again', () => {
    const r = new RecentEvents(64 * 1024, 1000);
    expect(r.seen(['uid', 1, 'Warning', 'ScopeMismatch', 'moved'], 0)).toBe(false);
    expect(r.seen(['uid', 1, 'Warning', 'ScopeMismatch', 'moved'], 999)).toBe(true);
    expect(r.seen(['uid', 2, 'Warning', 'ScopeMismatch', 'moved'], 999)).toBe(false);
    expect(r.seen(['uid', 1, 'Warning', 'ScopeMismatch', 'moved'], 1000)).toBe(false);
  });

  it('tells apart parts that concatenate to the same text', () => {
    const r = new RecentEvents(64 * 1024, 1000);
    expect(r.seen(['ab', 'c'], 0)).toBe(false);
    expect(r.seen(['a', 'bc'], 0)).toBe(false);
  });

  it('stays within its byte budget whatever the messages: 20,000 generations of a 1 KiB message', () => {
    const budget = 256 * 1024;
    const r = new RecentEvents(budget, 600_000);
    const huge = 'x'.repeat(1024);
    for (let gen = 0; gen < 20_000; gen++) {
      expect(r.seen(['uid', gen, 'Warning', 'ScopeMismatch', huge], gen)).toBe(false);
      expect(r.bytes).toBeLessThanOrEqual(budget);
    }
    expect(r.bytes).toBeGreaterThan(budget - DEDUPE_ENTRY_BYTES);
    // the newest are kept, the oldest were dropped
    expect(r.seen(['uid', 19_999, 'Warning', 'ScopeMismatch', huge], 20_000)).toBe(true);
    expect(r.seen(['uid', 0, 'Warning', 'ScopeMismatch', huge], 20_000)).toBe(false);
  });
});
