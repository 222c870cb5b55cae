/**
 * The waiting keys of the work queue (queue.ts), one lane per namespace,
 * served in turns over the namespaces that have work (round robin). A lane
 * holds keys added one by one and the passes of sweeps over the namespace's
 * keys (WorkQueue.sweep): iterators whose keys are made only when their
 * turn comes, so that a resync of 100,000 resources does not hold 100,000
 * keys at once (issue 17 §1).
 */

/** The namespace part of a "namespace/name" key. */
export function namespaceOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/** One sweep's pass over one namespace's keys. */
interface Pass {
  keys: Iterator<string>;
  /** As add() (cut a pending backoff short) rather than as resync(). */
  now: boolean;
  /** Keys not yet taken, at most (some may be skipped). */
  left: number;
}

/**
 * One namespace's waiting work, first in, first out: keys added one by one
 * and passes, in the order they came, so that a key added after a pass
 * waits behind it, as it did behind a sweep's keys enqueued at once.
 */
interface Lane {
  items: (string | Pass)[];
  /** The pass no key has been taken from yet, if any: a later sweep goes into it. */
  unbegun?: Pass;
}

/** What shift() hands out: a key added, or one a pass yielded (`now` from its sweep). */
export type Turn = { readonly key: string; readonly swept: false } | { readonly key: string; readonly swept: true; readonly now: boolean };

/** The lanes, and the order of the namespaces' turns. */
export class FairFifo {
  readonly #lanes = new Map<string, Lane>();
  /** Namespaces with work, in the order of their next turn. */
  #turns: string[] = [];
  #swept = 0;

  /** Keys the passes may still yield (an upper bound). */
  get swept(): number {
    return this.#swept;
  }

  /** Nothing waits: no key added, no pass. */
  get empty(): boolean {
    return this.#turns.length === 0;
  }

  #lane(ns: string): Lane {
    let lane = this.#lanes.get(ns);
    if (lane === undefined) {
      lane = { items: [] };
      this.#lanes.set(ns, lane);
      this.#turns.push(ns);
    }
    return lane;
  }

  push(key: string): void {
    this.#lane(namespaceOf(key)).items.push(key);
  }

  /**
   * Adds a pass over `count` keys of namespace `ns`, behind what waits in
   * its lane. A pass begun goes on to its end, so that every key is reached
   * however often sweeps come; a pass not yet begun takes this one's keys
   * instead of its own, which they cover (`now` if either asked for it).
   */
  sweep(ns: string, keys: Iterable<string>, now: boolean, count: number): void {
    const lane = this.#lane(ns);
    const it = keys[Symbol.iterator]();
    this.#swept += count;
    const unbegun = lane.unbegun;
    if (unbegun !== undefined) {
      this.#swept -= unbegun.left;
      unbegun.keys = it;
      unbegun.now ||= now;
      unbegun.left = count;
      return;
    }
    lane.unbegun = { keys: it, now, left: count };
    lane.items.push(lane.unbegun);
  }

  /** Forgets every pass (on stop). */
  dropSweeps(): void {
    for (const [ns, lane] of this.#lanes) {
      // a new array, not splice(...keys): spreading 200,000 keys as arguments overflows the stack
      lane.items = lane.items.filter((i) => typeof i === 'string');
      lane.unbegun = undefined;
      if (lane.items.length === 0) this.#lanes.delete(ns);
    }
    this.#turns = this.#turns.filter((ns) => this.#lanes.has(ns));
    this.#swept = 0;
  }

  /**
   * The next key in turn among the namespaces `mayRun` accepts (undefined
   * when none). A skipped namespace keeps its turn.
   */
  shift(mayRun: (ns: string) => boolean = () => true): Turn | undefined {
    for (let i = 0; i < this.#turns.length;) {
      const ns = this.#turns[i] ?? '';
      const lane = this.#lanes.get(ns);
      if (lane !== undefined && !mayRun(ns)) {
        i++;
        continue;
      }
      const turn = lane === undefined ? undefined : this.#take(lane);
      this.#turns.splice(i, 1);
      if (lane !== undefined && lane.items.length > 0) this.#turns.push(ns);
      else this.#lanes.delete(ns);
      if (turn !== undefined) return turn;
    }
    return undefined;
  }

  #take(lane: Lane): Turn | undefined {
    for (let head = lane.items[0]; head !== undefined; head = lane.items[0]) {
      if (typeof head === 'string') {
        lane.items.shift();
        return { key: head, swept: false };
      }
      if (lane.unbegun === head) lane.unbegun = undefined;
      const r = head.keys.next();
      if (r.done !== true) {
        head.left = Math.max(0, head.left - 1);
        this.#swept = Math.max(0, this.#swept - 1);
        return { key: r.value, swept: true, now: head.now };
      }
      this.#swept = Math.max(0, this.#swept - head.left);
      lane.items.shift();
    }
    return undefined;
  }
}
