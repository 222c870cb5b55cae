/**
 * Per-resource sync records (issue 17 §1): after a successful sync the
 * reconciler remembers one short digest of the sealed resource as it was
 * (uid, generation, spec digest, patch mode, status as written) and of its
 * Secret as it is on the server after the write or the comparison. A resync
 * whose cached summaries still give the same digest has nothing to do: no
 * GET, no unseal, no request. Anything else takes the full path.
 *
 * A record is a 22-character digest (about 90 bytes with its map entry:
 * the key is the cached summary's name string, NamespacedMap), never a value;
 * longer only while a status write is in flight (below).
 */
import { keyGone } from '../crypto/key-cache.js';
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
 *
 * A sync that wrote the status also keeps in its record, until the cache
 * shows that write, the sealed resource's resourceVersion and record as
 * they were before it (issue 17 §3). The write's own MODIFIED event comes
 * later, on a watch that at a cold start of thousands replays every status
 * written during the initial list: a reconcile enqueued meanwhile (the
 * enqueue of every resource when the list ends, a resync) saw the cache one
 * version behind the record and GET the whole sealed resource only to find
 * nothing to do (39,505 GETs at 40,000). A cache at exactly that
 * resourceVersion has changed only by our write, whose event will enqueue
 * the resource once more. Such a record is `after + before + version`,
 * about 32 bytes more, and is cut back to `after` once the cache shows it.
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

  /**
   * True when `sealed` and `secret` (the cached summaries) are as the last
   * sync of that resource left them, or as it found them when the only
   * change since is that sync's status write, which the cache has not shown
   * yet (same resourceVersion as before it).
   */
  matches(sealed: SealedSummary, secret: SecretSummary | undefined): boolean {
    const { namespace, name, resourceVersion } = sealed.metadata;
    const record = this.#records.get(namespace, name);
    if (record === undefined || secret === undefined || secret.digest === '') return false;
    const now = recordOf(sealed, secret.digest);
    if (record === now) return true;
    if (record.length === now.length) return false;
    // a status write in flight: `after + before + version`
    if (record.startsWith(now)) {
      this.#records.set(namespace, name, now); // the cache shows the write: the version before it is no longer needed
      return true;
    }
    return record.slice(now.length) === `${now}${resourceVersion}`;
  }

  /**
   * Records a sync: the sealed resource as `sealed` shows it (with the status
   * as written), its Secret with digest `secretDigest`; `before`, when the
   * sync wrote the status, is the sealed resource as it was read before.
   */
  set(sealed: SealedSummary, secretDigest: string, before?: SealedSummary): void {
    const { namespace, name } = sealed.metadata;
    const after = recordOf(sealed, secretDigest);
    // join, not a template: one flat string (a template's concatenations stay ropes, ~128 bytes, not ~32)
    this.#records.set(namespace, name, before === undefined ? after : [after, recordOf(before, secretDigest), before.metadata.resourceVersion].join(''));
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
    if (keyGone(this.#keys, fingerprints)) {
      this.#records.clear();
      this.#onSize(0);
    }
    this.#keys = fingerprints;
  }
}
