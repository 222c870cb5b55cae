import { describe, expect, it } from 'vitest';
import type { FightVerdict } from '../../../src/controller/fights.js';
import { FIGHT_DEFAULTS, FightDetector } from '../../../src/controller/fights.js';

const V = 'uid-1/3';
const [NS, NAME] = ['prod', 'db'];

/** Writes as the reconciler does: check, and record the write when allowed. */
function attempt(f: FightDetector, at: number, version = V): FightVerdict {
  const v = f.check(NS, NAME, version, at);
  if (!v.hold) f.written(NS, NAME, version, at);
  return v;
}

/** The first write plus `n` reverts, one a second from `from`. */
function fight(f: FightDetector, n: number, from = 0): number {
  let t = from;
  for (let i = 0; i <= n; i++, t += 1000) expect(attempt(f, t).hold).toBe(false);
  return t;
}

describe('FightDetector', () => {
  it('lets the first write and up to maxReverts reverts through, then holds for the base backoff', () => {
    const f = new FightDetector();
    const t = fight(f, FIGHT_DEFAULTS.maxReverts);
    expect(attempt(f, t)).toEqual({ hold: true, waitMs: 5000, reverts: 5, backoffMs: 5000 });
    expect(attempt(f, t + 4000)).toMatchObject({ hold: true, waitMs: 1000 });
  });

  it('writes once when the pause is over, and doubles the pause when that write is changed back too', () => {
    const f = new FightDetector();
    let t = fight(f, 5);
    expect(attempt(f, t).hold).toBe(true);
    for (const backoff of [5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]) {
      t += backoff;
      expect(attempt(f, t).hold, `probe after ${backoff} ms`).toBe(false);
      t += 500;
      expect(attempt(f, t)).toMatchObject({ hold: true, backoffMs: Math.min(backoff * 2, 300_000) });
    }
  });

  it('ends the fight when the write after a pause stays for a whole window', () => {
    const f = new FightDetector();
    let t = fight(f, 5);
    attempt(f, t);
    t += 5000;
    expect(attempt(f, t).hold).toBe(false);
    // someone edits the Secret by hand much later: one revert, not a fight
    t += FIGHT_DEFAULTS.windowMs + 1;
    expect(attempt(f, t).hold).toBe(false);
    expect(fight(f, 3, t + 1000)).toBeGreaterThan(t);
  });

  it('counts only reverts within the window, so slow drift is reverted for ever', () => {
    const f = new FightDetector();
    for (let i = 0; i < 50; i++) expect(attempt(f, i * 15_000).hold).toBe(false);
  });

  it('never holds with a limit of 0 (--fight-limit 0)', () => {
    const f = new FightDetector({ ...FIGHT_DEFAULTS, maxReverts: 0 });
    for (let i = 0; i < 100; i++) expect(attempt(f, i * 10).hold).toBe(false);
  });

  it('treats a write for a new generation as no revert, and forgets a deleted resource', () => {
    const f = new FightDetector();
    const t = fight(f, 5);
    expect(attempt(f, t, 'uid-1/4').hold).toBe(false);
    fight(f, 5, t + 1000);
    f.forget(NS, NAME);
    expect(f.size).toBe(0);
    expect(attempt(f, t + 10_000).hold).toBe(false);
  });
});
