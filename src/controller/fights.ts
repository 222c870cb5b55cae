/**
 * Notices when the controller and another writer keep changing the same
 * Secret back (a second controller, a script, kube-controller-manager filling
 * a Secret type it owns), and makes the controller step back with backoff
 * instead of fighting in a loop. Pure: the caller passes the time.
 */
import { NamespacedMap } from '../kube/namespaced-map.js';

/** Options of FightDetector. */
export interface FightOptions {
  /** Reverts of one Secret within `windowMs` after which the controller stops writing it; 0 never stops. */
  readonly maxReverts: number;
  readonly windowMs: number;
  /** First pause; each further fight doubles it, up to `maxBackoffMs`. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** The defaults: five reverts within a minute; pauses of 5 s, 10 s, … up to 5 min. */
export const FIGHT_DEFAULTS: FightOptions = { maxReverts: 5, windowMs: 60_000, baseBackoffMs: 5_000, maxBackoffMs: 300_000 };

/** Go ahead and write, or hold off: `waitMs` until the next try, and the reverts that caused it. */
export type FightVerdict =
  | { readonly hold: false }
  | { readonly hold: true; readonly waitMs: number; readonly reverts: number; readonly backoffMs: number };

/**
 * A version (uid/generation) as a 32-bit hash, a small integer V8 keeps
 * in the map's slot: the last write of every Secret is remembered, and its
 * version string cost ~120 bytes each (issue 17 §1). Two versions of one
 * Secret with the same hash (one chance in 2^32) make one write count as a
 * revert that was not one: one revert of the `maxReverts` a hold needs.
 */
function versionHash(version: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < version.length; i++) h = Math.imul(h ^ version.charCodeAt(i), 0x01000193);
  return h | 0;
}

interface FightState {
  /** versionHash of the sealed resource and generation the last write was for (uid/generation). */
  version: number;
  /** When the controller wrote the same version again: someone had changed the Secret. */
  reverts: number[];
  /** Pauses so far in this fight; each doubles the next. */
  trips: number;
  /** Hold writes until then; 0 when not holding. */
  until: number;
  /** When the write after a pause was made; 0 when none is pending. */
  probeAt: number;
  backoffMs: number;
}

/**
 * Tracks the controller's writes per Secret. A write of the same sealed
 * version as the last one is a revert: the controller writes only when the
 * Secret differs from Git, so someone changed it in between. After
 * `maxReverts` within `windowMs` the controller holds off; when the pause
 * ends it writes once more, and if that is changed back within the window
 * too it holds off twice as long. A write that stays for a window ends the
 * fight. A Secret never changed back costs a map slot and a number: its
 * last version's hash; a FightState is made at its first revert.
 */
export class FightDetector {
  readonly #o: FightOptions;
  /** By the Secret's namespace and name: the last version's hash, or the state of a fight. */
  readonly #state = new NamespacedMap<number | FightState>();

  constructor(opts: FightOptions = FIGHT_DEFAULTS) {
    this.#o = opts;
  }

  /** Asks whether the controller may write Secret `namespace/name` for sealed `version` now. */
  check(namespace: string, name: string, version: string, now: number): FightVerdict {
    const s = this.#state.get(namespace, name);
    if (typeof s !== 'object' || s.version !== versionHash(version) || this.#o.maxReverts <= 0) return { hold: false };
    if (s.until > now) return { hold: true, waitMs: s.until - now, reverts: s.reverts.length, backoffMs: s.backoffMs };
    if (s.until !== 0) {
      // the pause is over: one more write, to see whether the other writer stopped
      s.until = 0;
      s.probeAt = now;
      return { hold: false };
    }
    s.reverts = s.reverts.filter((t) => now - t < this.#o.windowMs);
    if (s.probeAt !== 0 && now - s.probeAt >= this.#o.windowMs) {
      // the write after the last pause stayed for a whole window: that fight is over
      s.probeAt = 0;
      s.trips = 0;
    }
    if (s.probeAt === 0 && s.reverts.length < this.#o.maxReverts) return { hold: false };
    s.trips++;
    s.probeAt = 0;
    s.backoffMs = Math.min(this.#o.maxBackoffMs, this.#o.baseBackoffMs * 2 ** Math.min(s.trips - 1, 20));
    s.until = now + s.backoffMs;
    return { hold: true, waitMs: s.backoffMs, reverts: s.reverts.length, backoffMs: s.backoffMs };
  }

  /**
   * Records a successful write of Secret `namespace/name` for sealed
   * `version`; keeps the name string given first (pass the cached one).
   */
  written(namespace: string, name: string, version: string, now: number): void {
    const s = this.#state.get(namespace, name);
    const hash = versionHash(version);
    if (typeof s === 'object' && s.version === hash) s.reverts.push(now);
    else if (s === hash) this.#state.set(namespace, name, { version: hash, reverts: [now], trips: 0, until: 0, probeAt: 0, backoffMs: 0 });
    else this.#state.set(namespace, name, hash);
  }

  /** Forgets Secret `namespace/name` (its sealed resource is gone). */
  forget(namespace: string, name: string): void {
    this.#state.delete(namespace, name);
  }

  /** The window in which reverts are counted. */
  get windowMs(): number {
    return this.#o.windowMs;
  }

  /** Number of Secrets tracked (for tests and metrics). */
  get size(): number {
    return this.#state.size;
  }
}
