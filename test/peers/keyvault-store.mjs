// The state and operations of the Key Vault stand-in (keyvault-server.mjs):
// RSA keys with versions, wrap/unwrap done with real node:crypto keys, and
// secrets with versions, all in memory. Each operation is named by the
// operationId of Microsoft's spec (keys.json, secrets.json) that the server
// matched the request to; errors are HttpErrors, which the server answers
// with the spec's KeyVaultError body ({ error: { code, message } }).
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';

/** Key Vault's limit on a secret's value. */
export const MAX_SECRET_BYTES = 25 * 1024;

const NAME = /^[0-9A-Za-z-]{1,127}$/;
const KEY_SIZES = [2048, 3072, 4096];
const DEFAULT_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const RECOVERY = { recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 };
const b64u = (b) => Buffer.from(b).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const newVersion = () => randomBytes(16).toString('hex');

/** An error the server answers as `status` with `{ error: { code, message } }`. */
export class HttpError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const badParameter = (message) => new HttpError(400, 'BadParameter', message);
const notFound = (kind, what) => new HttpError(404, kind === 'key' ? 'KeyNotFound' : 'SecretNotFound',
  `A ${kind} with (name/id) ${what} was not found in this key vault.`);

/**
 * @typedef {object} KeyVersion
 * @property {string} version
 * @property {import('node:crypto').KeyObject} privateKey
 * @property {number} size
 * @property {string[]} ops
 * @property {boolean} enabled
 * @property {number} created
 * @property {number} updated
 * @property {Record<string, string>} tags
 */

/**
 * @typedef {object} SecretVersion
 * @property {string} version
 * @property {string} value
 * @property {string} [contentType]
 * @property {Record<string, string>} tags
 * @property {number} created
 */

/**
 * @typedef {object} Call  A request matched to an operation of the spec.
 * @property {string} name       key or secret name (second path segment)
 * @property {string} [version]  third path segment; empty or absent means the newest
 * @property {() => any} body    the parsed JSON body ({} when empty); throws BadParameter when not JSON
 * @property {string} origin     `https://HOST:PORT`, for the ids in answers
 */

/** The keys and secrets of one stand-in, in memory; names are case-insensitive, as in Key Vault. */
export class KeyVaultStore {
  /** @type {Map<string, KeyVersion[]>} oldest first */
  #keys = new Map();
  /** @type {Map<string, SecretVersion[]>} oldest first */
  #secrets = new Map();

  /**
   * Runs the operation `operationId` and returns [status, JSON body]. Throws
   * HttpError for a request Key Vault refuses, and 501 for an operation of
   * the spec that this stand-in does not implement.
   * @param {string} operationId
   * @param {Call} call
   * @returns {[number, unknown]}
   */
  run(operationId, call) {
    if (!NAME.test(call.name)) throw badParameter(`The name ${call.name} is not valid: use 1-127 letters, digits and dashes.`);
    const op = this.#operations[operationId];
    if (op === undefined) throw new HttpError(501, 'NotImplemented', `The operation ${operationId} is not implemented by this test server.`);
    return [200, op(call)];
  }

  /** @type {Record<string, (c: Call) => unknown>} */
  #operations = {
    CreateKey: (c) => this.#createKey(c, c.body()),
    RotateKey: (c) => this.#createKey(c, undefined),
    GetKey: (c) => keyBundle(c, this.#keyVersion(c)),
    GetKeyVersions: (c) => ({ value: this.#keyVersions(c).map((k) => ({ kid: kidOf(c, k), attributes: attributes(k), tags: k.tags })) }),
    UpdateKey: (c) => this.#updateKey(c, c.body()),
    DeleteKey: (c) => this.#deleteKey(c),
    wrapKey: (c) => wrapOrUnwrap(this.#keyVersion(c), 'wrapKey', c),
    unwrapKey: (c) => wrapOrUnwrap(this.#keyVersion(c), 'unwrapKey', c),
    // sops encrypts its data key with encrypt/decrypt (RSA-OAEP-256), not wrapKey (azkv/keysource.go)
    encrypt: (c) => wrapOrUnwrap(this.#keyVersion(c), 'encrypt', c),
    decrypt: (c) => wrapOrUnwrap(this.#keyVersion(c), 'decrypt', c),
    SetSecret: (c) => this.#setSecret(c, c.body()),
    GetSecret: (c) => secretBundle(c, this.#secretVersion(c)),
    GetSecretVersions: (c) => ({ value: this.#secretVersions(c).map((s) => { const { value: _v, ...item } = secretBundle(c, s); return item; }) }),
  };

  /** @param {Call} c @returns {KeyVersion[]} */
  #keyVersions(c) {
    const versions = this.#keys.get(c.name.toLowerCase());
    if (!versions) throw notFound('key', c.name);
    return versions;
  }

  /** @param {Call} c @returns {KeyVersion} */
  #keyVersion(c) {
    const versions = this.#keyVersions(c);
    const k = c.version ? versions.find((v) => v.version === c.version) : versions[versions.length - 1];
    if (!k) throw notFound('key', `${c.name}/${c.version ?? ''}`);
    return k;
  }

  /** CreateKey (with `body`) or RotateKey (without: same type, size and operations as the newest). */
  #createKey(c, body) {
    const last = body === undefined ? this.#keyVersion(c) : undefined;
    const kty = body === undefined ? 'RSA' : body.kty;
    if (kty !== 'RSA' && kty !== 'RSA-HSM') throw badParameter(`Key type ${String(kty)} is not supported by this test server (RSA only).`);
    const size = body === undefined ? last?.size ?? 2048 : body.key_size ?? 2048;
    if (!KEY_SIZES.includes(size)) throw badParameter('key_size must be 2048, 3072 or 4096.');
    // PEM out of the generator, then a key object of its own: Node 20 can
    // deadlock when a GC finalizes generateKeyPairSync's job while the key it
    // made is being exported (the job's destructor waits on the mutex the
    // export holds: seen as a hung stand-in in CI). n and e are read once.
    const pem = generateKeyPairSync('rsa', { modulusLength: size, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const privateKey = createPrivateKey(pem.privateKey);
    const { n, e } = createPublicKey(pem.publicKey).export({ format: 'jwk' });
    const k = {
      version: newVersion(), privateKey, n, e, size, ops: body === undefined ? last?.ops ?? [] : body.key_ops ?? DEFAULT_OPS,
      enabled: body?.attributes?.enabled ?? true, created: now(), updated: now(), tags: body?.tags ?? last?.tags ?? {},
    };
    this.#keys.set(c.name.toLowerCase(), [...(this.#keys.get(c.name.toLowerCase()) ?? []), k]);
    return keyBundle(c, k);
  }

  /** UpdateKey: enabled, key_ops and tags. */
  #updateKey(c, body) {
    const k = this.#keyVersion(c);
    if (typeof body.attributes?.enabled === 'boolean') k.enabled = body.attributes.enabled;
    if (Array.isArray(body.key_ops)) k.ops = body.key_ops;
    if (body.tags) k.tags = body.tags;
    k.updated = now();
    return keyBundle(c, k);
  }

  /** DeleteKey: every version goes at once (no soft-delete here); answers a DeletedKeyBundle. */
  #deleteKey(c) {
    const k = this.#keyVersion({ ...c, version: undefined });
    this.#keys.delete(c.name.toLowerCase());
    const deletedDate = now();
    return { ...keyBundle(c, k), recoveryId: `${c.origin}/deletedkeys/${c.name}`, deletedDate, scheduledPurgeDate: deletedDate + 90 * 86_400 };
  }

  /** @param {Call} c @returns {SecretVersion[]} */
  #secretVersions(c) {
    const versions = this.#secrets.get(c.name.toLowerCase());
    if (!versions) throw notFound('secret', c.name);
    return versions;
  }

  /** @param {Call} c @returns {SecretVersion} */
  #secretVersion(c) {
    const versions = this.#secretVersions(c);
    const s = c.version ? versions.find((v) => v.version === c.version) : versions[versions.length - 1];
    if (!s) throw notFound('secret', `${c.name}/${c.version ?? ''}`);
    return s;
  }

  /** SetSecret: a new version (values over 25 KiB refused, as Key Vault does). */
  #setSecret(c, body) {
    if (typeof body.value !== 'string') throw badParameter('value is required.');
    if (Buffer.byteLength(body.value, 'utf8') > MAX_SECRET_BYTES) throw badParameter('Secret value is too large: the maximum is 25 KB.');
    const s = { version: newVersion(), value: body.value, contentType: body.contentType, tags: body.tags ?? {}, created: now() };
    this.#secrets.set(c.name.toLowerCase(), [...(this.#secrets.get(c.name.toLowerCase()) ?? []), s]);
    return secretBundle(c, s);
  }
}

/** @param {Call} c @param {KeyVersion} k */
const kidOf = (c, k) => `${c.origin}/keys/${c.name}/${k.version}`;

/** @param {KeyVersion} k */
function attributes(k) {
  return { enabled: k.enabled, created: k.created, updated: k.updated, ...RECOVERY };
}

/** The spec's KeyBundle: the public half (n, e) only. @param {Call} c @param {KeyVersion} k */
function keyBundle(c, k) {
  return { key: { kid: kidOf(c, k), kty: 'RSA', key_ops: k.ops, n: k.n, e: k.e }, attributes: attributes(k), tags: k.tags };
}

/** The spec's SecretBundle. @param {Call} c @param {SecretVersion} s */
function secretBundle(c, s) {
  return {
    id: `${c.origin}/secrets/${c.name}/${s.version}`, value: s.value, ...(s.contentType === undefined ? {} : { contentType: s.contentType }),
    attributes: { enabled: true, created: s.created, updated: s.created, ...RECOVERY }, tags: s.tags,
  };
}

/**
 * wrapKey / unwrapKey (and encrypt / decrypt, the same RSA operation for an
 * RSA key) with RSA-OAEP-256 (or RSA-OAEP): a disabled key is refused with
 * 403, an operation the key does not allow or an algorithm this stand-in
 * lacks with 400, and wrapped bytes that do not decrypt with 400.
 * @param {KeyVersion} k @param {'wrapKey' | 'unwrapKey' | 'encrypt' | 'decrypt'} op @param {Call} c
 */
function wrapOrUnwrap(k, op, c) {
  const body = c.body();
  if (!k.enabled) throw new HttpError(403, 'Forbidden', `Operation ${op} is not allowed on a disabled key.`);
  if (!k.ops.includes(op)) throw badParameter(`Operation ${op} is not permitted on this key.`);
  const oaepHash = body.alg === 'RSA-OAEP-256' ? 'sha256' : body.alg === 'RSA-OAEP' ? 'sha1' : undefined;
  if (oaepHash === undefined) throw badParameter(`Algorithm ${String(body.alg)} is not supported by this test server.`);
  if (typeof body.value !== 'string') throw badParameter('value is required.');
  const input = Buffer.from(body.value, 'base64url');
  const padding = constants.RSA_PKCS1_OAEP_PADDING;
  const kid = kidOf(c, k);
  if (op === 'wrapKey' || op === 'encrypt') return { kid, value: b64u(publicEncrypt({ key: createPublicKey(k.privateKey), padding, oaepHash }, input)) };
  try {
    return { kid, value: b64u(privateDecrypt({ key: k.privateKey, padding, oaepHash }, input)) };
  } catch {
    throw badParameter('Unwrap failed: the wrapped key does not decrypt with this key version.');
  }
}
