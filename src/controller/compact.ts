/**
 * `POST /v1/compact`: the controller seals every value of one sealed
 * resource again under one fresh data key for its newest key, and answers
 * the resource (ciphertext only; `sealbox reseal --compact`). The binding is
 * the resource's own, and every group must already be bound to it, so a
 * value sealed for one namespace, name or scope never comes out usable
 * anywhere else. A resource with a group the controller cannot open, or
 * with a recipient other than its own keys (who would lose access), is
 * refused whole. Bounded as re-wrap is (endpoint.ts, rewrap.ts).
 */
import { DataKeyCache } from '../crypto/key-cache.js';
import { compactSealed } from '../format/compact.js';
import type { SealedSecret } from '../format/sealed.js';
import { sealedManifest } from '../format/sealed.js';
import type { EndpointAnswer, EndpointDeps } from './endpoint.js';
import { errorJson, onSealedBody } from './endpoint.js';
import type { RewrapDeps } from './rewrap.js';
import { MAX_REWRAP_GROUPS, withBudget } from './rewrap.js';

/**
 * Compacts `sealed` (compactSealed) with the controller's cluster keys only:
 * a KMS recipient is refused before any call. Returns the resource as JSON
 * text. At most one private-key operation per group, plus a few for
 * recipients that fail. Throws what compactSealed throws.
 */
export async function compactRequest(sealed: SealedSecret, d: Omit<RewrapDeps, 'extraUnwrappers'>): Promise<string> {
  const what = `sealed secret "${sealed.namespace}/${sealed.name}"`;
  const ours = new Set(d.keys.map((k) => k.fingerprint));
  const unwrappers = withBudget(d.keys, [], sealed.dataKeys.length + 4, what, d.cancelled ?? (() => false));
  const cache = new DataKeyCache(MAX_REWRAP_GROUPS);
  try {
    const next = await compactSealed(sealed, unwrappers, {
      wrapper: d.newest.recipient,
      replaces: (s) => s.type === 'cert' && ours.has(s.id),
      cache,
    }, what);
    return `${JSON.stringify(sealedManifest(next))}\n`;
  } finally {
    cache.clear();
  }
}

/** The endpoint: 200 with the compacted resource, 422 `{"error":…,"code":…}` when refused; 400, 503 as re-wrap. */
export function compactWork(body: string, o: EndpointDeps, cancelled: () => boolean): Promise<EndpointAnswer> {
  return onSealedBody(
    body,
    o,
    async (sealed) => {
      const newest = o.keys.newest;
      if (newest === undefined) return { status: 503, body: 'error: no sealing key yet\n' };
      return { status: 200, body: await compactRequest(sealed, { keys: o.keys.keys, newest, cancelled }) };
    },
    (err) => ({ status: 422, body: errorJson(err) }),
  );
}
