/**
 * What the endpoints that take one sealed resource (re-wrap's siblings
 * `/v1/validate` and `/v1/compact`) share: the same body parsing and limits
 * as `/v1/rewrap` (parseRewrapBody: JSON only, depth and token scan, group
 * cap) and, in server.ts, the same body reading and admission gates, so
 * together they cost the controller no more than re-wrap alone may.
 */
import type { KeyUnwrapper } from '../crypto/types.js';
import type { SealboxError } from '../errors.js';
import { isSealboxError } from '../errors.js';
import type { SealedSecret } from '../format/sealed.js';
import { statusMessage } from './hints.js';
import type { KeyManager } from './keys.js';
import { parseRewrapBody } from './rewrap.js';

/**
 * Reads the live Sealed Secrets SealedSecret `namespace/name` (whole, as the
 * API server answers it), undefined when there is none; rejects when it
 * cannot be read (KubeApi.getBitnami).
 */
export type LiveBitnami = (namespace: string, name: string) => Promise<unknown>;

/** What an endpoint's work needs from the server (ServerOptions has it). */
export interface EndpointDeps {
  readonly keys: Pick<KeyManager, 'keys' | 'newest' | 'countRsaOps'>;
  readonly extraUnwrappers: () => readonly KeyUnwrapper[];
  /** In compatibility mode: reads live bitnami SealedSecrets (`/v1/convert` checks templates against them). */
  readonly liveBitnami?: LiveBitnami;
}

/** An HTTP answer: status and JSON or text body. */
export interface EndpointAnswer {
  readonly status: number;
  readonly body: string;
  /** Content type; default: JSON for 200, 409 and 422, text otherwise. */
  readonly type?: string;
}

/**
 * Takes `tokens` more from the admission's rate limits for the request being
 * worked on (its client and overall); false, taking none, when there are not
 * as many: answer 429.
 */
export type Charge = (tokens: number) => boolean;

/**
 * The work of one endpoint on a body already read and admitted (one token of
 * the rate limits spent); `cancelled` is true once the client went away;
 * `charge` takes more tokens for a request that costs as much as several.
 */
export type EndpointWork = (body: string, o: EndpointDeps, cancelled: () => boolean, charge: Charge) => Promise<EndpointAnswer>;

/**
 * Runs `work` on the one sealed resource of `body`: 503 before the first
 * sealing key, 400 for a body that is not one JSON sealed resource, and
 * `refused(err)` for a SealboxError (parsing or work). Counts the RSA
 * operations spent afterwards.
 */
export async function onSealedBody(
  body: string,
  o: EndpointDeps,
  work: (sealed: SealedSecret) => Promise<EndpointAnswer>,
  refused: (err: SealboxError) => EndpointAnswer,
): Promise<EndpointAnswer> {
  if (o.keys.newest === undefined) return { status: 503, body: 'error: no sealing key yet\n' };
  try {
    const sealed = parseRewrapBody(body);
    if (sealed === undefined) return { status: 400, body: 'error: send exactly one sealed resource, as JSON\n' };
    return await work(sealed);
  } catch (err) {
    if (isSealboxError(err)) return refused(err);
    throw err;
  } finally {
    o.keys.countRsaOps();
  }
}

/** `{"error": …, "code": …}` as a JSON body line; the message with its hint worded as for a status. */
export function errorJson(err: SealboxError): string {
  return `${JSON.stringify({ error: statusMessage(err), code: err.code })}\n`;
}
