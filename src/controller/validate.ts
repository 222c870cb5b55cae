/**
 * `POST /v1/validate`: can this controller unseal one sealed resource? The
 * sealbox counterpart of Sealed Secrets' `/v1/verify` (`kubeseal
 * --validate`), which answers 200 or 409. Anyone who reaches the controller
 * can call it, so the answer carries nothing taken from a plaintext: no
 * value, no length, no digest; only "ok", or the failure's error code and
 * message (which name the group, value or key concerned, as the reconciler's
 * status does). Every value is opened and its plaintext zeroed at once.
 * Bounded as re-wrap is (endpoint.ts, rewrap.ts): same body limits and
 * admission, a budget of key operations per request, and a data-key cache of
 * its own, so that the cost never tells whether the resource is deployed.
 */
import { DataKeyCache } from '../crypto/key-cache.js';
import { unsealSealedSecret } from '../format/seal.js';
import type { SealedSecret } from '../format/sealed.js';
import type { EndpointAnswer, EndpointDeps } from './endpoint.js';
import { onSealedBody } from './endpoint.js';
import { statusMessage } from './hints.js';
import type { RewrapDeps } from './rewrap.js';
import { MAX_REWRAP_GROUPS, withBudget } from './rewrap.js';

/** Status of an answer that says the resource cannot be unsealed (as Sealed Secrets' /v1/verify). */
export const CANNOT_UNSEAL = 409;

/**
 * Opens every value of `sealed` with the controller's keys and forgets it.
 * Resolves when all open; throws what unsealing throws (SCOPE, NO_KEY,
 * TAMPERED, PROVIDER), or SealboxError('INPUT') past the budget of key
 * operations (one per group, plus a few for recipients that fail).
 */
export async function validateRequest(sealed: SealedSecret, d: Omit<RewrapDeps, 'newest'>): Promise<void> {
  const what = `sealed secret "${sealed.namespace}/${sealed.name}"`;
  const unwrappers = withBudget(d.keys, d.extraUnwrappers, sealed.dataKeys.length + 4, what, d.cancelled ?? (() => false));
  const cache = new DataKeyCache(MAX_REWRAP_GROUPS);
  try {
    const opened = await unsealSealedSecret(sealed, unwrappers, what, cache);
    for (const v of opened.data.values()) v.fill(0);
  } finally {
    cache.clear();
  }
}

/** The endpoint: 200 `{"ok":true}`, or 409 `{"ok":false,"code":…,"error":…}`; 400, 503 as re-wrap. */
export function validateWork(body: string, o: EndpointDeps, cancelled: () => boolean): Promise<EndpointAnswer> {
  return onSealedBody(
    body,
    o,
    async (sealed) => {
      await validateRequest(sealed, { keys: o.keys.keys, extraUnwrappers: o.extraUnwrappers(), cancelled });
      return { status: 200, body: `${JSON.stringify({ ok: true })}\n` };
    },
    (err) => ({ status: CANNOT_UNSEAL, body: `${JSON.stringify({ ok: false, code: err.code, error: statusMessage(err) })}\n` }),
  );
}
