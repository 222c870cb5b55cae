/**
 * Secrets of other writers in compatibility mode. Sealed Secrets does not
 * react when a Secret that a SealedSecret does not control (no controller
 * reference to it, no managed annotation; a patch annotation is not enough)
 * is deleted, and its suite checks that the Secret stays deleted ("unowned
 * secret ... should not recreate the secret"). A reconcile that runs just
 * after such a deletion, because the SealedSecret was created or changed at
 * the same moment, must not create the Secret in the gap either: a writer
 * that deletes and re-creates its Secret (`kubectl replace --force`, a Helm
 * re-install) would then meet a Secret it cannot create. So the creation
 * waits until a short window after the deletion has passed.
 */
import { BITNAMI_API_VERSION, BITNAMI_KIND, BITNAMI_MANAGED } from '../../format/bitnami.js';
import type { V1Secret } from '../../kube/types.js';

/** How long after another writer deleted a Secret its name is left to that writer. */
export const FOREIGN_DELETE_WINDOW_MS = 2000;

/** Deletions remembered at most (a mass deletion keeps the newest). */
const MAX_REMEMBERED = 10_000;

function bitnamiController(s: V1Secret): string | undefined {
  return (s.metadata?.ownerReferences ?? []).find((r) => r.controller === true && r.kind === BITNAMI_KIND && r.apiVersion === BITNAMI_API_VERSION)?.uid;
}

function isManaged(s: V1Secret): boolean {
  return s.metadata?.annotations?.[BITNAMI_MANAGED] === 'true';
}

/**
 * True when `s` is the SealedSecret `uid`'s to re-create once deleted:
 * controlled by it, or annotated managed.
 */
export function isOwnSecret(s: V1Secret, uid: string | undefined): boolean {
  const controller = bitnamiController(s);
  return (controller !== undefined && controller === uid) || isManaged(s);
}

/**
 * True when `s` belongs to another writer: no SealedSecret controls it and
 * it is not annotated managed (a patch annotation leaves it the other
 * writer's: Sealed Secrets merges into it but does not re-create it).
 */
export function isForeignSecret(s: V1Secret): boolean {
  return bitnamiController(s) === undefined && !isManaged(s);
}

/** Remembers when Secrets of other writers were deleted, by namespace/name, for FOREIGN_DELETE_WINDOW_MS. */
export class ForeignDeletions {
  readonly #deletedAt = new Map<string, number>();
  readonly #windowMs: number;
  readonly #now: () => number;

  /** `now` (ms) defaults to Date.now. */
  constructor(windowMs = FOREIGN_DELETE_WINDOW_MS, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Notes that another writer's Secret `key` (namespace/name) was deleted now. */
  deleted(key: string): void {
    const now = this.#now();
    this.#prune(now);
    this.#deletedAt.delete(key); // re-inserted last: the map stays in time order
    this.#deletedAt.set(key, now);
    if (this.#deletedAt.size > MAX_REMEMBERED) {
      const oldest = this.#deletedAt.keys().next();
      if (oldest.done !== true) this.#deletedAt.delete(oldest.value);
    }
  }

  /** The milliseconds left before `key` may be created, 0 when it may be now. */
  waitFor(key: string): number {
    const at = this.#deletedAt.get(key);
    if (at === undefined) return 0;
    const left = at + this.#windowMs - this.#now();
    return left > 0 ? left : 0;
  }

  /** Entries kept (for tests and metrics). */
  get size(): number {
    this.#prune(this.#now());
    return this.#deletedAt.size;
  }

  #prune(now: number): void {
    for (const [key, at] of this.#deletedAt) {
      if (at + this.#windowMs > now) break;
      this.#deletedAt.delete(key);
    }
  }
}
