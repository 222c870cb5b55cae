/**
 * `POST /v1/convert` (`sealbox convert`): the controller opens a Sealed
 * Secrets SealedSecret (`bitnami.com/v1alpha1`, as JSON) with its sealing
 * keys, imported Sealed Secrets keys included, and answers the same secret
 * as a sealbox SealedSecret sealed for its newest key: ciphertext only, the
 * plaintext never leaves this process and is zeroed once sealed.
 *
 * The values open only under the label their own SealedSecret gives them
 * (`namespace/name`, `namespace` or none, from its name, namespace and
 * scope annotations), and the answer is bound to that same place and scope:
 * a value sealed for one namespace or name cannot come out usable in
 * another. Bounded as re-wrap is (server.ts gates, rewrap.ts JSON scan):
 * at most MAX_CONVERT_VALUES values and a budget of RSA operations.
 *
 * Template data beyond text, plain references and comments (a function over
 * a value) is converted only when the SealedSecret is exactly the live one
 * of its namespace and name (same scope, template data and encrypted data):
 * its template is then the namespace owner's, not the caller's, and its
 * rendering is what that owner's Secret already holds. Anything else is
 * refused before any RSA operation (docs/SECURITY.md 1a.4g).
 */
import { SealboxError } from '../errors.js';
import type { BitnamiOpener } from '../format/bitnami.js';
import { parseBitnamiSealed, unsealBitnami } from '../format/bitnami.js';
import type { BitnamiSealed } from '../format/bitnami.js';
import { convertedSecret, isBitnamiManifest, keptMetadata, sameTemplateAndValues, scopeOfBitnami, templateBeyondPlain } from '../format/convert.js';
import { sealSecret } from '../format/seal.js';
import { sealedManifest } from '../format/sealed.js';
import type { Charge, EndpointAnswer, EndpointDeps, LiveBitnami } from './endpoint.js';
import { errorJson } from './endpoint.js';
import type { SealingKey } from './keys.js';
import { openWithKeys } from './kubeseal-endpoints.js';
import { checkJsonText } from './rewrap.js';

/** Most values (encryptedData entries) one request may hold: each costs an RSA operation. */
export const MAX_CONVERT_VALUES = 64;
/** RSA operations one request may spend beyond one per value (finding the key, a few failures). */
export const CONVERT_SPARE_OPS = 4;
/**
 * Tokens of the admission's rate limits a request pays beyond its own when
 * its template is checked against the live SealedSecret: each check is a
 * GET under the controller's API rate limit (--kube-api-qps), which its
 * reconciles share; at one token, the admission's 20 requests a second
 * took 40% of the default 50 (attack19).
 */
export const LIVE_CHECK_TOKENS = 4;

/**
 * An opener that tries `keys` in turn (the one that opened the last value
 * first) and spends one of `budget` per RSA operation; past it, or once the
 * client went away, it throws SealboxError('INPUT').
 */
export function budgetedOpener(keys: readonly SealingKey[], budget: number, what: string, cancelled: () => boolean): BitnamiOpener {
  let left = budget;
  let preferred: SealingKey | undefined;
  return async (value, label) => {
    const order = preferred === undefined ? keys : [preferred, ...keys.filter((k) => k !== preferred)];
    const opened = await openWithKeys(value, label, order, () => {
      if (cancelled()) throw new SealboxError('INPUT', `${what}: the client went away; conversion stopped`);
      if (left-- <= 0) throw new SealboxError('INPUT', `${what}: needs more than ${String(budget)} key operations to convert; it holds values none of the controller's keys opens`);
    });
    if (opened === null) return null;
    preferred = opened.key;
    return opened.value;
  };
}

/** Parses the body: one bitnami SealedSecret as JSON. Throws SealboxError('INPUT') naming what is wrong. */
function parseBody(body: string): { doc: Record<string, unknown>; what: string } {
  checkJsonText(body);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new SealboxError('INPUT', 'request: not JSON; send one bitnami.com/v1alpha1 SealedSecret as JSON');
  }
  if (!isBitnamiManifest(doc)) throw new SealboxError('INPUT', 'request: not a bitnami.com/v1alpha1 SealedSecret');
  const meta = typeof doc.metadata === 'object' && doc.metadata !== null ? (doc.metadata as Record<string, unknown>) : {};
  const id = `${typeof meta.namespace === 'string' ? meta.namespace : ''}/${typeof meta.name === 'string' ? meta.name : ''}`;
  return { doc, what: `sealedsecret "${id.slice(0, 320)}"` };
}

/**
 * Throws SealboxError('INPUT') unless `s`, whose template data entry `key`
 * does more than place values, is exactly the live SealedSecret of its
 * namespace and name, read with `live` (undefined without compatibility
 * mode). An absent and a different live object get the same answer, so a
 * refusal does not tell whether one exists.
 */
async function checkLiveTemplate(s: BitnamiSealed, key: string, what: string, live: LiveBitnami | undefined, charge: Charge): Promise<void> {
  const refuse = (why: string): SealboxError => new SealboxError('INPUT', `${what}: template data "${key.slice(0, 253)}" does more than place values ({{ .key }}) and ${why}; apply the Sealed Secrets SealedSecret to the cluster first and convert it as it is there, or render this entry yourself and add it with sealbox seal --merge-into`);
  if (live === undefined) throw refuse('the controller converts such templates only in compatibility mode (--sealed-secrets-compat), from the live SealedSecret');
  if (s.namespace === '' || s.name === '') throw refuse('the SealedSecret has no namespace or name to find the live one by');
  if (!charge(LIVE_CHECK_TOKENS)) throw new SealboxError('REFUSED', `${what}: checking its template against the live SealedSecret counts as ${String(LIVE_CHECK_TOKENS + 1)} requests against the controller's rate limit, more than are left; retry shortly`);
  let found: unknown;
  try {
    found = await live(s.namespace, s.name);
  } catch {
    throw refuse('the controller could not read the live SealedSecret (it needs get on sealedsecrets.bitnami.com in that namespace: deploy/compat/)');
  }
  let same = false;
  try {
    same = found !== undefined && sameTemplateAndValues(s, parseBitnamiSealed(found, what));
  } catch {
    same = false;
  }
  if (!same) throw refuse('is not exactly the live SealedSecret of that namespace and name (same scope, template data and encrypted data)');
}

/**
 * Converts one SealedSecret (JSON text) for `newest`; returns the sealbox
 * SealedSecret as JSON text. `live` reads the live SealedSecret of a
 * namespace and name (compatibility mode only), after `charge` took
 * LIVE_CHECK_TOKENS. Throws SealboxError: INPUT (malformed, a template of
 * functions not the live one's, too many values, over the budget), REFUSED
 * (no tokens left for the live check), NO_KEY (a value no key opens under
 * its label), and what sealing throws.
 */
export async function convertRequest(body: string, keys: readonly SealingKey[], newest: SealingKey, cancelled: () => boolean, live?: LiveBitnami, charge: Charge = () => true): Promise<string> {
  const { doc, what } = parseBody(body);
  const s = parseBitnamiSealed(doc, what);
  const key = templateBeyondPlain(s);
  if (key !== undefined) await checkLiveTemplate(s, key, what, live, charge);
  const count = Object.keys(s.encryptedData).length;
  if (count > MAX_CONVERT_VALUES) throw new SealboxError('INPUT', `${what}: ${String(count)} values, more than the ${String(MAX_CONVERT_VALUES)} the controller converts in one request; split the SealedSecret`);
  const opened = await unsealBitnami(s, budgetedOpener(keys, count + keys.length + CONVERT_SPARE_OPS, what, cancelled), what);
  const secret = convertedSecret(s, opened, what);
  try {
    const sealed = await sealSecret(secret, { scope: scopeOfBitnami(s.scope), wrappers: [newest.recipient] });
    return `${JSON.stringify(sealedManifest({ ...sealed, ...keptMetadata(doc) }))}\n`;
  } finally {
    for (const v of secret.data.values()) v.fill(0);
  }
}

/**
 * The endpoint: 200 with the sealbox SealedSecret, 422 `{"error":…,"code":…}`
 * when refused, 429 (same body) when the live check's tokens are not left,
 * 503 before the first key.
 */
export async function convertWork(body: string, o: EndpointDeps, cancelled: () => boolean, charge: Charge): Promise<EndpointAnswer> {
  const newest = o.keys.newest;
  if (newest === undefined) return { status: 503, body: 'error: no sealing key yet\n' };
  try {
    return { status: 200, body: await convertRequest(body, o.keys.keys, newest, cancelled, o.liveBitnami, charge) };
  } catch (err) {
    if (err instanceof SealboxError) return { status: err.code === 'REFUSED' ? 429 : 422, body: errorJson(err), type: 'application/json' };
    throw err;
  } finally {
    o.keys.countRsaOps();
  }
}
