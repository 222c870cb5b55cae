/**
 * Per-resource sync records (issue 17 §1): after a successful sync the
 * reconciler remembers one short digest of the sealed resource as it was
 * (uid, generation, spec digest, patch mode, status as written) and of its
 * Secret as it is on the server after the write or the comparison. A resync
 * whose cached summaries still give the same digest has nothing to do: no
 * GET, no unseal, no request. Anything else takes the full path.
 *
 * A record is a 22-character digest (about 150 bytes with its map entry
 * and key), never a value.
 */
import { shortDigest } from './digest.js';
import type { SealedSummary } from './sealed-cache.js';
import type { SecretSummary } from './secret-cache.js';

function recordOf(sealed: SealedSummary, secretDigest: string): string {
  const m = sealed.metadata;
  return shortDigest([m.uid, String(m.generation), sealed.spec, sealed.patch ? 'patch' : 'replace', sealed.status.check, secretDigest]);
}

/** The sync records of the resources a reconciler has synced, by `namespace/name`. */
export class SyncRecords {
  readonly #records = new Map<string, string>();
  #keys: ReadonlySet<string> = new Set();
  readonly #onSize: (size: number) => void;

  /** `onSize` is told the number of records after each change (for a gauge). */
  constructor(onSize: (size: number) => void = () => undefined) {
    this.#onSize = onSize;
  }

  /** Resources with a record. */
  get size(): number {
    return this.#records.size;
  }

  /** True when `sealed` and `secret` (the cached summaries) are as the last sync of `key` left them. */
  matches(key: string, sealed: SealedSummary, secret: SecretSummary | undefined): boolean {
    const record = this.#records.get(key);
    return record !== undefined && secret !== undefined && secret.digest !== '' && record === recordOf(sealed, secret.digest);
  }

  /** Records a sync of `key`: the sealed resource as `sealed` shows it, its Secret with digest `secretDigest`. */
  set(key: string, sealed: SealedSummary, secretDigest: string): void {
    this.#records.set(key, recordOf(sealed, secretDigest));
    this.#onSize(this.#records.size);
  }

  delete(key: string): void {
    if (this.#records.delete(key)) this.#onSize(this.#records.size);
  }

  /**
   * Tells the records which cluster keys exist now. When one that existed
   * before is gone, every record is dropped: a resource unsealed with it
   * must be unsealed again (and fail, if no other key can), as before
   * records existed. A key added changes no record.
   */
  keysNow(fingerprints: ReadonlySet<string>): void {
    for (const f of this.#keys) {
      if (!fingerprints.has(f)) {
        this.#records.clear();
        this.#onSize(0);
        break;
      }
    }
    this.#keys = fingerprints;
  }
}
