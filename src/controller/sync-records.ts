/**
 * Per-resource sync records (issue 17 §1): after a successful sync the
 * reconciler remembers one short digest of the sealed resource as it was
 * (uid, generation, spec digest, patch mode, status as written) and of its
 * Secret as it is on the server after the write or the comparison. A resync
 * whose cached summaries still give the same digest has nothing to do: no
 * GET, no unseal, no request. Anything else takes the full path.
 *
 * A record is a 22-character digest (about 90 bytes with its map entry:
 * the key is the cached summary's name string, NamespacedMap), never a value.
 */
import { NamespacedMap } from '../kube/namespaced-map.js';
import { shortDigest } from './digest.js';
import type { SealedSummary } from './sealed-cache.js';
import type { SecretSummary } from './secret-cache.js';

function recordOf(sealed: SealedSummary, secretDigest: string): string {
  const m = sealed.metadata;
  return shortDigest([m.uid, String(m.generation), sealed.spec, sealed.patch ? 'patch' : 'replace', sealed.status.check, secretDigest]);
}

/** The namespace and name of a `namespace/name` key. */
function split(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/**
 * The sync records of the resources a reconciler has synced, stored under
 * the namespace and name strings of the summary each is set with (the
 * cache's, at a cold start), not a key string of their own.
 */
export class SyncRecords {
  readonly #records = new NamespacedMap<string>();
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

  /** True when `sealed` and `secret` (the cached summaries) are as the last sync of that resource left them. */
  matches(sealed: SealedSummary, secret: SecretSummary | undefined): boolean {
    const record = this.#records.get(sealed.metadata.namespace, sealed.metadata.name);
    return record !== undefined && secret !== undefined && secret.digest !== '' && record === recordOf(sealed, secret.digest);
  }

  /** Records a sync: the sealed resource as `sealed` shows it, its Secret with digest `secretDigest`. */
  set(sealed: SealedSummary, secretDigest: string): void {
    const { namespace, name } = sealed.metadata;
    this.#records.set(namespace, name, recordOf(sealed, secretDigest));
    this.#onSize(this.#records.size);
  }

  /** Forgets the record of `namespace/name`. */
  delete(key: string): void {
    if (this.#records.delete(...split(key))) this.#onSize(this.#records.size);
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
