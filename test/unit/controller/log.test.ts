import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogLimiter, SyncTally } from '../../../src/controller/log.js';

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

describe('SyncTally', () => {
  it('logs one line with what each running total grew by since the last report, and none when nothing grew', () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
    const tally = new SyncTally(pino({ level: 'info' }, stream));
    tally.report(new Map([['created', 1500], ['updated', 0]]));
    tally.report(new Map([['created', 1500], ['updated', 0]]));
    tally.report(new Map([['created', 1502], ['updated', 3], ['recreated', 1]]));
    expect(lines.map(({ msg, created, updated, recreated, total }) => ({ msg, created, updated, recreated, total }))).toEqual([
      { msg: 'secrets synced', created: 1500, updated: undefined, recreated: undefined, total: 1500 },
      { msg: 'secrets synced', created: 2, updated: 3, recreated: 1, total: 6 },
    ]);
  });
});
