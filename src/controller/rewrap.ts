/**
 * The re-wrap endpoint's work and its defences. Anyone who can reach the
 * controller (every authenticated user through the service proxy, every pod
 * on its port) can call it, so each request is bounded before it costs much:
 * the body is read first under limits of its own (body.ts), then admission
 * (concurrency and rate, per client and overall: admission.ts) to the
 * expensive part, which stops at the next key operation when the client goes
 * away; a linear scan of the JSON text (depth, tokens) before it is parsed;
 * a cap on data-key groups and a budget of key operations per request; and a
 * data-key cache of its own, so that its cost never tells whether the same
 * resource is already deployed (the reconciler's cache is not consulted).
 */
import { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyUnwrapper, WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import { rewrapSealed } from '../format/rotate.js';
import { unsealSealedSecret } from '../format/seal.js';
import type { SealedSecret } from '../format/sealed.js';
import { isSealedManifest, parseSealedSecret, sealedManifest } from '../format/sealed.js';
import type { SealingKey } from './keys.js';

/** Largest request body accepted (a sealed resource is at most ~1.4 MiB). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Deepest nesting of a request (a sealed resource needs 5). */
export const MAX_JSON_DEPTH = 32;
/**
 * Most structural tokens (`{ [ , :`) in a request: room for the 10,000 values
 * a sealed resource may hold, while the worst such text parses in ~0.1 s.
 */
export const MAX_JSON_TOKENS = 32_768;
/** Most data-key groups the endpoint unwraps in one request. */
export const MAX_REWRAP_GROUPS = 64;

/** Refuses text that is not one JSON object within the depth and token limits, without parsing it. */
export function checkJsonText(text: string): void {
  let depth = 0;
  let tokens = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw new SealboxError('INPUT', `request: nested deeper than ${String(MAX_JSON_DEPTH)} levels`);
      tokens++;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c || c === 0x3a) tokens++;
    if (tokens > MAX_JSON_TOKENS) throw new SealboxError('INPUT', `request: more than ${String(MAX_JSON_TOKENS)} JSON tokens`);
  }
}

/**
 * Returns the one sealed resource a request body holds, or undefined when the
 * body is not a JSON sealed resource (the caller answers 400). YAML is not
 * accepted: `sealbox reseal` sends JSON, and JSON's parser is linear and
 * native. Throws SealboxError('INPUT') for a resource that does not parse, over
 * the group cap, or with a group no value names.
 */
export function parseRewrapBody(body: string): SealedSecret | undefined {
  const start = body.trimStart();
  if (!start.startsWith('{')) return undefined;
  checkJsonText(start);
  let value: unknown;
  try {
    value = JSON.parse(start);
  } catch {
    return undefined;
  }
  if (!isSealedManifest(value)) return undefined;
  const sealed = parseSealedSecret(value, 'sealed secret');
  if (sealed.dataKeys.length > MAX_REWRAP_GROUPS) {
    throw new SealboxError('INPUT', `sealed secret "${sealed.namespace}/${sealed.name}" has ${String(sealed.dataKeys.length)} data-key groups, more than the ${String(MAX_REWRAP_GROUPS)} the controller re-wraps in one request; have a key holder re-seal it with fewer groups`);
  }
  // A group no value names would not be unwrapped, so a forged one would pass.
  const used = new Set([...sealed.encryptedData.values()].map((v) => v.groupId));
  const unused = sealed.dataKeys.find((g) => !used.has(g.id));
  if (unused !== undefined) {
    throw new SealboxError('INPUT', `sealed secret "${sealed.namespace}/${sealed.name}": data-key group ${unused.id} holds no value, so the controller does not re-wrap it; remove that group from spec.dataKeys and send it again`);
  }
  return sealed;
}

/**
 * Wraps the unwrappers so that one request spends at most `budget` private-key
 * operations and KMS calls; the one past it fails with SealboxError('INPUT').
 */
export function withBudget(keys: readonly SealingKey[], extra: readonly KeyUnwrapper[], budget: number, what: string, cancelled: () => boolean): KeyUnwrapper[] {
  let left = budget;
  const spend = (): void => {
    if (cancelled()) throw new SealboxError('INPUT', `${what}: the client went away; re-wrap stopped`);
    if (left <= 0) throw new SealboxError('INPUT', `${what}: needs more than ${String(budget)} key operations to re-wrap; it lists keys it was not sealed for`);
    left--;
  };
  const guard = (u: KeyUnwrapper, costs: (s: WrappedKey) => boolean): KeyUnwrapper => ({
    description: u.description,
    unwrap: (s, b) => {
      if (costs(s)) spend();
      return u.unwrap(s, b);
    },
  });
  return [
    ...keys.map((k) => guard(k.identity, (s) => s.type === 'cert' && s.id === k.fingerprint)),
    ...extra.map((u) => guard(u, (s) => s.type !== 'cert')),
  ];
}

/** What {@link rewrapRequest} needs. */
export interface RewrapDeps {
  readonly keys: readonly SealingKey[];
  readonly newest: SealingKey;
  readonly extraUnwrappers: readonly KeyUnwrapper[];
  /** True once the client has gone away: no further key operation is started. */
  readonly cancelled?: () => boolean;
}

/**
 * Re-wraps every group of `sealed` to the newest key and drops the stanzas of
 * older cluster keys, after opening every value (the plaintext never leaves
 * here). Returns the resource as JSON text. At most one key operation per
 * group, plus a few for recipients that fail; a data-key cache of its own.
 * Throws what unsealing throws.
 */
export async function rewrapRequest(sealed: SealedSecret, d: RewrapDeps): Promise<string> {
  const what = `sealed secret "${sealed.namespace}/${sealed.name}"`;
  const ours = new Set(d.keys.map((k) => k.fingerprint));
  const unwrappers = withBudget(d.keys, d.extraUnwrappers, sealed.dataKeys.length + 4, what, d.cancelled ?? (() => false));
  const cache = new DataKeyCache(MAX_REWRAP_GROUPS);
  try {
    // Open every value first: a group that needs no new stanza is not
    // unwrapped by the re-wrap, so a tampered or unopenable resource would
    // otherwise come back as if it were fine. The re-wrap then finds its
    // data keys in this request's cache.
    const opened = await unsealSealedSecret(sealed, unwrappers, what, cache);
    for (const v of opened.data.values()) v.fill(0);
    const next = await rewrapSealed(sealed, unwrappers, {
      wrappers: [d.newest.recipient],
      drop: (s) => s.type === 'cert' && ours.has(s.id) && s.id !== d.newest.fingerprint,
      cache,
    }, what);
    return `${JSON.stringify(sealedManifest(next))}\n`;
  } finally {
    cache.clear();
  }
}
