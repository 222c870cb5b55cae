/**
 * Sharding, the pure part: which shard a namespace belongs to (FNV-1a),
 * which shard a replica prefers (its pod name's ordinal, or --shard), the
 * Lease of each shard, and what a replica does with each shard's Lease in
 * one election round (decideRound). ShardElector (shard-elector.ts) does the
 * IO; docs/DEPLOY.md "Sharding" describes the whole protocol.
 */

/** Annotation on a shard Lease: the shard count of the replicas that hold it (absent: 1). */
export const SHARDS_ANNOTATION = 'sealbox.dev/shards';
/** Annotation on a shard Lease: the replica that asks its holder to hand it over. */
export const WANTED_BY_ANNOTATION = 'sealbox.dev/wanted-by';

/** The most shards deploy/'s RBAC names Leases for (docs/DEPLOY.md "Sharding"). */
export const MAX_SHARDS = 8;

/** The shard that leads key management (generation, rotation, the certificate ConfigMap). */
export const KEY_SHARD = 0;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, of `text`'s UTF-8 bytes (as an unsigned integer). */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET;
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

/** The shard of a namespace: FNV-1a 32 of its name, modulo the shard count. */
export function shardOf(namespace: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a32(namespace) % shards;
}

/**
 * The Lease of shard `s`: shard 0 keeps the leader Lease's own name, so the
 * one replica that leads key management holds the same Lease with or without
 * shards; shard s > 0 is `<leaseName>-shard-<s>`.
 */
export function shardLeaseName(leaseName: string, s: number): string {
  return s === KEY_SHARD ? leaseName : `${leaseName}-shard-${String(s)}`;
}

/**
 * The shard a replica prefers: `flag` (--shard) when given, else the ordinal
 * suffix of its pod name as a StatefulSet names pods (`sealbox-controller-2`:
 * 2), when it is below the shard count. A Deployment's pod names end in a
 * random suffix, which is not an ordinal (or is one far above any shard
 * count): such replicas prefer no shard, and balance (decideRound) spreads
 * the shards over them.
 */
export function preferredShard(identity: string, shards: number, flag?: number): number | undefined {
  if (flag !== undefined) return flag >= 0 && flag < shards ? flag : undefined;
  const m = /-(0|[1-9]\d{0,5})$/.exec(identity);
  if (m === null) return undefined;
  const ordinal = Number(m[1]);
  return ordinal < shards ? ordinal : undefined;
}

/** A shard Lease as one replica sees it in one round. */
export interface LeaseView {
  readonly exists: boolean;
  /** The holder, '' when none. */
  readonly holder: string;
  /** No renewal seen for a whole lease duration on this replica's clock, or released. */
  readonly expired: boolean;
  /** The replica asking for it, '' when none. */
  readonly wantedBy: string;
  /** The shard count its holder runs with. */
  readonly shards: number;
}

/** What a replica does with one shard Lease in a round. */
export type ShardAction =
  | { readonly kind: 'create' }
  | { readonly kind: 'acquire' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'handover'; readonly to: string }
  | { readonly kind: 'want' }
  | { readonly kind: 'release' }
  | { readonly kind: 'wait' };

/** The input of decideRound. */
export interface Round {
  readonly me: string;
  readonly shards: number;
  /** This replica's preferred shard (preferredShard). */
  readonly preferred: number | undefined;
  /** One view per shard, undefined where the Lease could not be read. */
  readonly leases: readonly (LeaseView | undefined)[];
  /**
   * This replica has run for a whole lease duration: a peer started with it
   * has had the time to claim its own shard, so a free shard that is still
   * free is orphaned and this replica may claim it.
   */
  readonly settled: boolean;
}

const WAIT: ShardAction = { kind: 'wait' };

/** A Lease no live replica holds: missing, released, or unrenewed for its whole duration. */
function isFree(v: LeaseView | undefined): boolean {
  return v !== undefined && (!v.exists || v.holder === '' || v.expired);
}

/**
 * The one free shard this replica may claim before it has run for a lease
 * duration: its preferred shard; without one (a Deployment's replicas), the
 * first free shard while it holds none, so that replicas started together
 * take one each (the one that loses the race takes the next free one).
 */
function ownShard(r: Round): number | undefined {
  if (r.preferred !== undefined) return r.preferred;
  if (r.leases.some((v) => v !== undefined && v.exists && v.holder === r.me && !v.expired)) return undefined;
  const first = r.leases.findIndex(isFree);
  return first < 0 ? undefined : first;
}

/**
 * The action on one Lease, before balance; `mismatch` when another shard
 * count holds shard 0; `own` is ownShard(r).
 */
function decideOne(r: Round, s: number, v: LeaseView | undefined, mismatch: boolean, own: number | undefined): ShardAction {
  if (v === undefined) return WAIT;
  const mine = v.exists && v.holder === r.me && !v.expired;
  if (mismatch) return mine ? { kind: 'release' } : WAIT;
  // Another replica's shard that looks free at start-up may only be free
  // because that replica is still starting: claiming it would unseal its
  // resources here, to hand them back moments later.
  if (isFree(v) && v.holder !== r.me && s !== own && !r.settled) return WAIT;
  if (!v.exists) return { kind: 'create' };
  if (v.holder === r.me) {
    // The holder keeps its own preferred shard; any other it hands to a replica that asks.
    if (v.wantedBy !== '' && v.wantedBy !== r.me && s !== r.preferred) return { kind: 'handover', to: v.wantedBy };
    return { kind: 'renew' };
  }
  if (v.holder === '' || v.expired) return { kind: 'acquire' };
  if (s === r.preferred && v.wantedBy !== r.me && preferredShard(v.holder, r.shards) !== s) return { kind: 'want' };
  return WAIT;
}

/**
 * One shard held by a replica holding at least two more than this one, and
 * not preferred by its holder nor asked for by anyone: the shard this
 * replica asks for to even the load out, or undefined.
 */
function balanceWant(r: Round, actions: readonly ShardAction[]): number | undefined {
  const live = (v: LeaseView | undefined): v is LeaseView => v !== undefined && v.exists && v.holder !== '' && !v.expired;
  if (r.leases.some((v) => live(v) && v.holder !== r.me && v.wantedBy === r.me)) return undefined; // one request at a time
  const mine = actions.filter((a) => a.kind === 'create' || a.kind === 'acquire' || a.kind === 'renew').length;
  const counts = new Map<string, number>();
  for (const v of r.leases) if (live(v) && v.holder !== r.me) counts.set(v.holder, (counts.get(v.holder) ?? 0) + 1);
  for (let s = r.leases.length - 1; s >= 0; s--) {
    const v = r.leases[s];
    if (!live(v) || v.holder === r.me || v.wantedBy !== '' || actions[s]?.kind !== 'wait') continue;
    if ((counts.get(v.holder) ?? 0) >= mine + 2 && preferredShard(v.holder, r.shards) !== s) return s;
  }
  return undefined;
}

/**
 * What this replica does with each shard's Lease this round, by index:
 * - create a missing Lease; acquire one that is free or expired; renew its own;
 *   before it has run for a lease duration (not `settled`), it creates or
 *   acquires only its own shard (ownShard), and leaves the others to peers
 *   that start with it;
 * - hand its own over to the replica that asks for it, unless it is its own
 *   preferred shard;
 * - ask (want) for its preferred shard when another replica holds it, and,
 *   when it holds none pending, for one shard of a replica that holds at
 *   least two more than it does (balance);
 * - release what it holds and take nothing while shard 0's Lease is held by
 *   replicas running with another shard count (a rollout that changes
 *   --shards: the two counts map namespaces differently).
 */
export function decideRound(r: Round): ShardAction[] {
  const zero = r.leases[KEY_SHARD];
  const mismatch = zero !== undefined && zero.exists && zero.holder !== '' && zero.holder !== r.me && !zero.expired && zero.shards !== r.shards;
  const own = ownShard(r);
  const actions = r.leases.map((v, s) => decideOne(r, s, v, mismatch, own));
  if (mismatch || actions.some((a) => a.kind === 'want')) return actions;
  const s = balanceWant(r, actions);
  if (s !== undefined) actions[s] = { kind: 'want' };
  return actions;
}

/**
 * Lets work through only for the namespaces of the shards this replica
 * holds, and counts it per shard, so that a replica handing a shard over
 * can wait until none of its writes is in flight.
 */
export class ShardGate {
  readonly #shards: number;
  readonly #holds: (shard: number) => boolean;
  readonly #inFlight = new Map<number, number>();
  readonly #waiters = new Map<number, (() => void)[]>();

  /** `holds(s)`: whether this replica holds shard s now. */
  constructor(shards: number, holds: (shard: number) => boolean) {
    this.#shards = shards;
    this.#holds = holds;
  }

  /** Whether this replica reconciles `namespace` now. */
  owns(namespace: string): boolean {
    return this.#holds(shardOf(namespace, this.#shards));
  }

  /** Runs `fn` for `key` ("namespace/name") when this replica holds its shard; skips it otherwise. */
  async run(key: string, fn: () => Promise<void>): Promise<void> {
    const s = shardOf(key.slice(0, Math.max(0, key.indexOf('/'))), this.#shards);
    if (!this.#holds(s)) return;
    this.#inFlight.set(s, (this.#inFlight.get(s) ?? 0) + 1);
    try {
      await fn();
    } finally {
      const n = (this.#inFlight.get(s) ?? 1) - 1;
      if (n > 0) this.#inFlight.set(s, n);
      else {
        this.#inFlight.delete(s);
        for (const wake of this.#waiters.get(s) ?? []) wake();
        this.#waiters.delete(s);
      }
    }
  }

  /** Resolves when no work of `shard` runs, or after `timeoutMs`. */
  async drain(shard: number, timeoutMs: number): Promise<void> {
    if (!this.#inFlight.has(shard)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.set(shard, [...(this.#waiters.get(shard) ?? []), () => { clearTimeout(timer); resolve(); }]);
    });
  }
}
