/**
 * The endpoints kubeseal calls on a Sealed Secrets controller, served in
 * compatibility mode (`--sealed-secrets-compat`) for `bitnami.com/v1alpha1`
 * SealedSecrets, as bitnami-labs/sealed-secrets pkg/controller/server.go
 * serves them:
 *
 * - `POST /v1/verify` (`kubeseal --validate`): 200 when every value unseals
 *   with one of the controller's keys, 409 when one does not.
 * - `POST /v1/rotate` (`kubeseal --re-encrypt`): the same SealedSecret with
 *   every value sealed again for the newest key, as JSON; 409 when a value
 *   does not unseal.
 *
 * (`GET /v1/cert.pem` is served in every mode by server.ts.) Values carry no
 * key id, so each key is tried; the key that opened a value is tried first
 * for the next, so a request costs about one RSA operation per value.
 * Plaintext stays in this process and is zeroed once used; answers carry
 * only ciphertext or the name of what failed. The body limits and admission
 * gates of re-wrap apply (server.ts), and a request is charged one token of
 * their rate limits per VALUES_PER_TOKEN values, as that many values cost
 * about what one re-wrap may (docs/SECURITY.md 1a.8).
 */
import { createPublicKey } from 'node:crypto';
import type { BitnamiScope } from '../crypto/bitnami.js';
import { bitnamiLabel, bitnamiScopeOf, openBitnamiValue, sealBitnamiValue, splitBitnamiValue } from '../crypto/bitnami.js';
import { SealboxError } from '../errors.js';
import type { Charge, EndpointAnswer, EndpointDeps } from './endpoint.js';
import type { SealingKey } from './keys.js';
import { checkJsonText } from './rewrap.js';

const TEXT = 'text/plain; charset=utf-8';

/** Most values a request may hold (each costs up to one RSA operation per key). */
export const MAX_KUBESEAL_VALUES = 1024;

/**
 * Values that one token of the admission's rate limits pays for: a
 * `/v1/rewrap` request spends at most 68 RSA operations, and each value here
 * costs about one, so a request of N values is charged ceil(N / 64) tokens.
 */
export const VALUES_PER_TOKEN = 64;

/** The parts of a bitnami SealedSecret the endpoints read; the rest is passed through. */
interface BitnamiSealed {
  readonly doc: Record<string, unknown>;
  readonly what: string;
  readonly label: Uint8Array;
  readonly values: Readonly<Record<string, string>>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringsOf(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  return Object.values(v).every((x) => typeof x === 'string') ? (v as Record<string, string>) : undefined;
}

/**
 * Parses a request body as one `bitnami.com/v1alpha1` SealedSecret in JSON
 * (kubeseal sends JSON). Throws SealboxError('INPUT') naming what is wrong.
 */
export function parseBitnamiSealed(body: string): BitnamiSealed {
  checkJsonText(body);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new SealboxError('INPUT', 'request: not JSON; send one bitnami.com/v1alpha1 SealedSecret as JSON, as kubeseal does');
  }
  if (!isRecord(doc) || doc.kind !== 'SealedSecret' || doc.apiVersion !== 'bitnami.com/v1alpha1') {
    throw new SealboxError('INPUT', 'request: not a bitnami.com/v1alpha1 SealedSecret');
  }
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const what = `sealed secret "${namespace}/${name}"`.slice(0, 600);
  const spec = isRecord(doc.spec) ? doc.spec : {};
  // Sealed Secrets refuses the legacy spec.data by default (--accept-deprecated-v1-data off)
  if (spec.data !== undefined && spec.data !== null) throw new SealboxError('INPUT', `${what}: the legacy spec.data is not accepted; reseal it with kubeseal into spec.encryptedData`);
  const values = stringsOf(spec.encryptedData ?? {});
  if (values === undefined) throw new SealboxError('INPUT', `${what}: spec.encryptedData must map key names to strings`);
  if (Object.keys(values).length > MAX_KUBESEAL_VALUES) throw new SealboxError('INPUT', `${what}: more than ${String(MAX_KUBESEAL_VALUES)} values`);
  const scope: BitnamiScope = bitnamiScopeOf(stringsOf(meta.annotations));
  return { doc, what, label: bitnamiLabel(scope, namespace, name), values };
}

/**
 * The RSA operations a request may still spend, and how to pay for more.
 * The tokens charged up front pay VALUES_PER_TOKEN operations each, plus
 * one search through every key; values sealed for the key last in turn
 * (a tenant holds every public certificate) cost one operation per key
 * each, so operations beyond that are charged as they come.
 */
interface Meter {
  left: number;
  readonly charge: Charge;
  readonly cancelled: () => boolean;
}

/** Spends one RSA operation of `meter`; throws SealboxError('REFUSED') (429) when no token pays for it. */
function spend(s: BitnamiSealed, meter: Meter): void {
  if (meter.left <= 0) {
    if (!meter.charge(1)) throw new SealboxError('REFUSED', `${s.what}: its values need more key operations than the controller's rate limit has left (values sealed for many different keys); retry shortly, or reseal them for one key`);
    meter.left += VALUES_PER_TOKEN;
  }
  meter.left--;
}

/**
 * Opens one Sealed Secrets value (its bytes) under `label` with the first of
 * `order`'s keys that fits, trying them in turn and calling `beforeEach`
 * before each RSA operation (it throws to stop: a budget, a client gone).
 * Each session key is zeroed once used. Returns the plaintext and the key
 * that opened it, or null when none does (or the value is malformed).
 */
export async function openWithKeys(bytes: Uint8Array, label: Uint8Array, order: readonly SealingKey[], beforeEach: () => void): Promise<{ value: Uint8Array; key: SealingKey } | null> {
  const parts = splitBitnamiValue(bytes);
  if (parts === null) return null;
  for (const k of order) {
    beforeEach();
    const session = await k.identity.unwrapBitnami(parts.wrapped, label);
    const value = session === null ? null : openBitnamiValue(session, parts.sealed);
    session?.fill(0);
    if (value !== null) return { value, key: k };
  }
  return null;
}

/**
 * Opens one value with the first key that fits, trying `order`'s keys in
 * turn; moves the key that opened it to the front. Returns the plaintext,
 * or throws SealboxError('NO_KEY') naming the value (never its content).
 */
async function openValue(s: BitnamiSealed, key: string, order: SealingKey[], meter: Meter): Promise<Uint8Array> {
  const bytes = new Uint8Array(Buffer.from(s.values[key] ?? '', 'base64'));
  const opened = await openWithKeys(bytes, s.label, order, () => {
    if (meter.cancelled()) throw new SealboxError('INPUT', `${s.what}: the client went away`);
    spend(s, meter);
  });
  if (opened !== null) {
    order.splice(order.indexOf(opened.key), 1);
    order.unshift(opened.key);
    return opened.value;
  }
  throw new SealboxError('NO_KEY', `${s.what}: value "${key.slice(0, 253)}" does not unseal with any of this controller's ${String(order.length)} keys for its name, namespace and scope`);
}

/** Opens every value of `s` in turn and hands each to `use` before zeroing it. */
async function eachValue(s: BitnamiSealed, keys: readonly SealingKey[], meter: Meter, use: (key: string, value: Uint8Array) => void): Promise<void> {
  const order = [...keys];
  for (const key of Object.keys(s.values)) {
    const value = await openValue(s, key, order, meter);
    try {
      use(key, value);
    } finally {
      value.fill(0);
    }
  }
}

/** Returns the 429 answer when `s` needs more tokens than `charge` can take (admission took one already). */
function unpaid(s: BitnamiSealed, charge: Charge): EndpointAnswer | undefined {
  const count = Object.keys(s.values).length;
  const tokens = Math.ceil(count / VALUES_PER_TOKEN);
  if (charge(tokens - 1)) return undefined;
  const body = `error: ${s.what}: its ${String(count)} values count as ${String(tokens)} requests (one per ${String(VALUES_PER_TOKEN)} values) against the controller's rate limit; retry shortly, or split it into SealedSecrets of fewer values\n`;
  return { status: 429, body, type: TEXT };
}

async function answer(body: string, o: EndpointDeps, charge: Charge, cancelled: () => boolean, work: (s: BitnamiSealed, keys: readonly SealingKey[], meter: Meter) => Promise<EndpointAnswer>): Promise<EndpointAnswer> {
  const keys = o.keys.keys;
  if (keys.length === 0) return { status: 503, body: 'error: no sealing key yet\n' };
  try {
    const s = parseBitnamiSealed(body);
    const meter = { left: Math.ceil(Object.keys(s.values).length / VALUES_PER_TOKEN) * VALUES_PER_TOKEN + keys.length, charge, cancelled };
    return unpaid(s, charge) ?? await work(s, keys, meter);
  } catch (err) {
    if (!(err instanceof SealboxError)) throw err;
    const status = err.code === 'INPUT' ? 400 : err.code === 'REFUSED' ? 429 : 409;
    return { status, body: `error: ${err.message}\n`, type: TEXT };
  } finally {
    o.keys.countRsaOps();
  }
}

/**
 * `POST /v1/verify`: 200 when every value unseals, 409 when one does not,
 * 400 for a body that is not a SealedSecret, 429 when its values cost more
 * tokens than the rate limits have left.
 */
export function verifyWork(body: string, o: EndpointDeps, cancelled: () => boolean, charge: Charge): Promise<EndpointAnswer> {
  return answer(body, o, charge, cancelled, async (s, keys, meter) => {
    await eachValue(s, keys, meter, () => undefined);
    return { status: 200, body: 'ok\n', type: TEXT };
  });
}

/**
 * `POST /v1/rotate`: the SealedSecret with each value sealed again for the
 * newest key (same scope label), everything else as sent; 409 when a value
 * does not unseal; 429 as for verifyWork.
 */
export function rotateWork(body: string, o: EndpointDeps, cancelled: () => boolean, charge: Charge): Promise<EndpointAnswer> {
  const sealing = o.keys.newest;
  if (sealing === undefined) return Promise.resolve({ status: 503, body: 'error: no sealing key yet\n', type: TEXT });
  return answer(body, o, charge, cancelled, async (s, keys, meter) => {
    const newest = createPublicKey(sealing.certificatePem);
    const sealed: Record<string, string> = {};
    await eachValue(s, keys, meter, (key, value) => {
      sealed[key] = Buffer.from(sealBitnamiValue(newest, value, s.label)).toString('base64');
    });
    const spec = isRecord(s.doc.spec) ? s.doc.spec : {};
    return { status: 200, body: JSON.stringify({ ...s.doc, spec: { ...spec, encryptedData: sealed } }) };
  });
}
