/**
 * Opens Sealed Secrets values for the compatibility mode. Values name no
 * key, so every sealing key may be tried (RSA-OAEP private operations, off
 * the event loop); the key that worked is remembered per SealedSecret and
 * tried first next time, and each unwrapped session key is cached by its
 * wrapped bytes and label, so a resync of an unchanged SealedSecret costs
 * no RSA operation at all. Each RSA operation may be charged to a budget
 * (budget.ts).
 */
import { createHash } from 'node:crypto';
import { openBitnamiValue, splitBitnamiValue } from '../../crypto/bitnami.js';
import type { DataKeyCache } from '../../crypto/key-cache.js';
import type { BitnamiOpener } from '../../format/bitnami.js';
import type { CertIdentity } from '../../keys/cert.js';

/** A sealing key as the opener needs it. */
export interface OpenerKey {
  readonly fingerprint: string;
  readonly identity: CertIdentity;
}

/** Remembers which key opened each SealedSecret (by namespace/name). */
export class WorkingKeys {
  readonly #byObject = new Map<string, string>();

  /** The fingerprint that last opened `key`'s values, if any. */
  get(key: string): string | undefined {
    return this.#byObject.get(key);
  }

  set(key: string, fingerprint: string): void {
    this.#byObject.set(key, fingerprint);
  }

  delete(key: string): void {
    this.#byObject.delete(key);
  }
}

function cacheKey(wrapped: Uint8Array, label: Uint8Array): string {
  return createHash('sha256').update('bitnami\0').update(label).update('\0').update(wrapped).digest('base64');
}

/** Keys in trial order: the one that worked for this object first. */
function ordered(keys: readonly OpenerKey[], preferred: string | undefined): OpenerKey[] {
  const first = keys.filter((k) => k.fingerprint === preferred);
  return [...first, ...keys.filter((k) => k.fingerprint !== preferred)];
}

/**
 * Returns an opener for one SealedSecret (`objectKey`): session keys come
 * from `cache` when they were unwrapped before, else from each key in turn.
 * `charge` is called before each RSA private operation and throws to stop
 * (the namespace's budget, budget.ts); what was unwrapped stays cached.
 */
export function bitnamiOpener(objectKey: string, keys: readonly OpenerKey[], working: WorkingKeys, cache: DataKeyCache, charge?: () => void): BitnamiOpener {
  return async (value, label) => {
    const parts = splitBitnamiValue(value);
    if (parts === null) return null;
    const ck = cacheKey(parts.wrapped, label);
    // every session key is zeroed once used: the cache keeps its own copy (found by attack23)
    const cached = cache.get(ck);
    if (cached !== undefined) {
      try {
        return openBitnamiValue(cached, parts.sealed);
      } finally {
        cached.fill(0);
      }
    }
    for (const k of ordered(keys, working.get(objectKey))) {
      if (k.identity.costsBitnami(parts.wrapped)) charge?.();
      const sessionKey = await k.identity.unwrapBitnami(parts.wrapped, label);
      if (sessionKey === null) continue;
      try {
        const plain = openBitnamiValue(sessionKey, parts.sealed);
        if (plain === null) continue;
        cache.set(ck, sessionKey);
        working.set(objectKey, k.fingerprint);
        return plain;
      } finally {
        sessionKey.fill(0);
      }
    }
    return null;
  };
}
