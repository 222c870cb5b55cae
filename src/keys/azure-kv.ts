/**
 * Azure Key Vault key provider: wraps data keys with an RSA key in Key Vault
 * (wrapKey/unwrapKey, RSA-OAEP-256, always done by the service) and names
 * each wrap with the full key id including its version, so a key can get new
 * versions while stanzas of older versions keep unwrapping.
 *
 * Key Vault's wrap takes no label or context, so a stanza is not bound to its
 * location here: the binding is enforced by the values' AEAD (their
 * additional data names the location), which fails for a moved value.
 *
 * The SDK is loaded on first use (dynamic import), so code paths that never
 * touch Azure, such as `sealbox seal --cert`, do not pay for loading it.
 */
import { rootCertificates } from 'node:tls';
import type { CryptographyClient, CryptographyClientOptions, KeyClient } from '@azure/keyvault-keys';
import type { KeyUnwrapper, KeyWrapper, RecipientRef, WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import type { Limiter, ServiceFailure } from './kms-common.js';
import {
  DEFAULT_KMS_CONCURRENCY, DEFAULT_KMS_TIMEOUT_MS, createLimiter, serviceFailureOf, failureText, limitedCall, safeCause,
} from './kms-common.js';

type Sdk = typeof import('@azure/keyvault-keys');
let sdkPromise: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => (sdkPromise ??= import('@azure/keyvault-keys'));

/** A credential as the Key Vault SDK takes it (`@azure/core-auth` TokenCredential). */
export type AzureCredential = ConstructorParameters<typeof KeyClient>[1];

/** Key Vault REST API version sealbox speaks; the SDK's newer default is not served by every vault emulator. */
export const AZURE_KV_SERVICE_VERSION = '7.6';

/** The wrap algorithm: RSA-OAEP with SHA-256, which the SDK always sends to the service. */
export const AZURE_KV_WRAP_ALGORITHM = 'RSA-OAEP-256';

/** Concurrent calls shared by every AzureKvKey that is not given its own limiter. */
const sharedLimiter = createLimiter(DEFAULT_KMS_CONCURRENCY);

const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const KEY_VERSION = /^[0-9A-Za-z-]{1,64}$/;

/** A Key Vault key id split into its parts. */
export interface AzureKeyId {
  /** `https://HOST[:PORT]`, lower case, no trailing slash. */
  readonly vaultUrl: string;
  readonly name: string;
  readonly version: string | undefined;
}

/**
 * Returns the parts of `https://VAULT/keys/NAME[/VERSION]`. Throws
 * SealboxError('INPUT') for anything else (other scheme, path, query).
 */
export function parseAzureKeyId(keyId: string): AzureKeyId {
  const bad = (why: string): SealboxError =>
    new SealboxError('INPUT', `invalid azure key vault key id "${keyId}": ${why}; use https://VAULT/keys/NAME[/VERSION]`);
  let url: URL;
  try {
    url = new URL(keyId);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'https:') throw bad('not https');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw bad('unexpected query, fragment or user');
  const parts = url.pathname.replace(/\/$/, '').split('/').slice(1);
  const [keys, name, version, ...rest] = parts;
  if (keys !== 'keys' || name === undefined || !KEY_NAME.test(name) || rest.length > 0) throw bad('not a key path');
  if (version !== undefined && !KEY_VERSION.test(version)) throw bad('invalid version');
  return { vaultUrl: url.origin, name, version };
}

/** Options of an {@link AzureKvKey}. */
export interface AzureKvKeyOptions {
  /** `https://VAULT/keys/NAME` (wrap with the newest version) or `https://VAULT/keys/NAME/VERSION`. */
  readonly keyId: string;
  /** Token credential for the vault (DefaultAzureCredential in production). */
  readonly credential: AzureCredential;
  /** SDK client options (retry, TLS, challenge verification); `serviceVersion` defaults to 7.6. */
  readonly clientOptions?: CryptographyClientOptions;
  /** Time limit of one call, SDK retries included; default 15 s. */
  readonly timeoutMs?: number;
  /** Bounds concurrent calls; default one limiter of 8 shared by all Azure keys. */
  readonly limiter?: Limiter;
  /** How long the newest version found is reused for wraps; default 5 minutes. */
  readonly versionCacheMs?: number;
}

/**
 * One Key Vault RSA key as a recipient: wraps data keys with its configured
 * or newest version, and unwraps stanzas of any version of the same key.
 */
export class AzureKvKey implements KeyWrapper, KeyUnwrapper {
  /** `{ type: 'azure-kv', id }` with the id as configured (maybe without version). */
  readonly recipient: RecipientRef;
  /** `azure-kv:ID` for messages. */
  readonly description: string;
  readonly #key: AzureKeyId;
  readonly #credential: AzureCredential;
  readonly #options: CryptographyClientOptions;
  readonly #timeoutMs: number;
  readonly #limiter: Limiter;
  readonly #versionCacheMs: number;
  #keyClient: KeyClient | undefined;
  readonly #crypto = new Map<string, CryptographyClient>();
  #newest: { version: string; until: number } | undefined;

  /** Throws SealboxError('INPUT') when `keyId` is not a Key Vault key id. */
  constructor(options: AzureKvKeyOptions) {
    this.#key = parseAzureKeyId(options.keyId);
    this.#credential = options.credential;
    this.#options = { serviceVersion: AZURE_KV_SERVICE_VERSION, ...options.clientOptions };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_KMS_TIMEOUT_MS;
    this.#limiter = options.limiter ?? sharedLimiter;
    this.#versionCacheMs = options.versionCacheMs ?? 5 * 60_000;
    this.recipient = { type: 'azure-kv', id: options.keyId };
    this.description = `azure-kv:${options.keyId}`;
  }

  /**
   * Returns the full id of the version wraps use now: the configured one, or
   * the newest (asked of the vault at most once per cache period). Throws
   * SealboxError('PROVIDER') when the vault fails.
   */
  async currentKeyId(): Promise<string> {
    const version = this.#key.version ?? (await this.#newestVersion());
    return this.#idOf(version);
  }

  /**
   * Returns the data key wrapped by the vault with RSA-OAEP-256, named with
   * the full key id of the version used. The binding is not part of the wrap
   * (see the module comment), so the binding argument of KeyWrapper is not
   * taken. Throws SealboxError('PROVIDER') on failure.
   */
  async wrap(dataKey: Uint8Array): Promise<WrappedKey> {
    const id = await this.currentKeyId();
    const version = parseAzureKeyId(id).version ?? '';
    const out = await this.#call('wrap', version, async (signal) =>
      (await this.#cryptoClient(version)).wrapKey(AZURE_KV_WRAP_ALGORITHM, dataKey, { abortSignal: signal }), dataKey);
    return { type: 'azure-kv', id, wrapped: out.result };
  }

  /**
   * Returns the data key of a stanza wrapped by any version of this key, or
   * null (without a call) when the stanza names another type or key. The
   * binding argument of KeyUnwrapper is not taken (see the module comment). Throws
   * SealboxError('TAMPERED') when the vault refuses the wrapped bytes as
   * malformed, SealboxError('PROVIDER') when the vault fails.
   */
  async unwrap(stanza: WrappedKey): Promise<Uint8Array | null> {
    const version = this.#versionOf(stanza);
    if (version === undefined) return null;
    const out = await this.#call('unwrap', version, async (signal) =>
      (await this.#cryptoClient(version)).unwrapKey(AZURE_KV_WRAP_ALGORITHM, stanza.wrapped, { abortSignal: signal }));
    return out.result;
  }

  /** The stanza's key version when it names this key (same vault and name), else undefined. */
  #versionOf(stanza: WrappedKey): string | undefined {
    if (stanza.type !== 'azure-kv') return undefined;
    let id: AzureKeyId;
    try {
      id = parseAzureKeyId(stanza.id);
    } catch {
      return undefined;
    }
    // Key Vault names are case-insensitive; the URL parser already lowered the host.
    const same = id.vaultUrl === this.#key.vaultUrl && id.name.toLowerCase() === this.#key.name.toLowerCase();
    return same ? id.version : undefined;
  }

  #idOf(version: string): string {
    return `${this.#key.vaultUrl}/keys/${this.#key.name}/${version}`;
  }

  async #newestVersion(): Promise<string> {
    if (this.#newest && this.#newest.until > Date.now()) return this.#newest.version;
    const key = await this.#call('get newest version of', '', async (signal) =>
      (await this.#client()).getKey(this.#key.name, { abortSignal: signal }));
    const version = key.properties.version ?? (key.id === undefined ? undefined : parseAzureKeyId(key.id).version);
    if (version === undefined) {
      throw new SealboxError('PROVIDER', `azure key vault key "${this.#idOf('')}": the vault returned no key version; check the vault URL`);
    }
    this.#newest = { version, until: Date.now() + this.#versionCacheMs };
    return version;
  }

  async #client(): Promise<KeyClient> {
    if (this.#keyClient) return this.#keyClient;
    const { KeyClient: Client } = await loadSdk();
    this.#keyClient = new Client(this.#key.vaultUrl, this.#credential, this.#options);
    return this.#keyClient;
  }

  /** The SDK client of one key version, built from our own vault URL, never the stanza's text. */
  async #cryptoClient(version: string): Promise<CryptographyClient> {
    let c = this.#crypto.get(version);
    if (!c) {
      c = (await this.#client()).getCryptographyClient(this.#key.name, { keyVersion: version });
      if (this.#crypto.size >= 64) this.#crypto.clear(); // a handful of versions in practice
      this.#crypto.set(version, c);
    }
    return c;
  }

  async #call<T>(op: string, version: string, fn: (signal: AbortSignal) => Promise<T>, secret?: Uint8Array): Promise<T> {
    try {
      return await limitedCall(this.#limiter, this.#timeoutMs, fn);
    } catch (err) {
      if (err instanceof SealboxError) throw err;
      throw azureError(op, this.#idOf(version), serviceFailureOf(err, secret), this.#timeoutMs);
    }
  }
}

function azureError(op: string, key: string, f: ServiceFailure, timeoutMs: number): SealboxError {
  const what = `azure key vault key "${key.replace(/\/$/, '')}"`;
  // Key Vault answers 400 (BadParameter) when RSA-OAEP-256 decryption of the wrapped bytes fails.
  if (op === 'unwrap' && f.status === 400) {
    return new SealboxError('TAMPERED',
      `${what} refused the wrapped data key (${f.code}): it was altered or wrapped by another key; reseal the secret`,
      { cause: safeCause(f) });
  }
  let hint = 'the vault is unreachable or failing; check the vault URL, its TLS certificate and the network, then retry';
  if (f.status === 401 || f.status === 403 || /credential|authenticat|token/i.test(f.code + f.message)) {
    hint = `check the Azure identity and that it may ${op === 'wrap' ? 'wrap' : 'unwrap'} keys in this vault`;
  } else if (f.status === 404) {
    hint = 'check that the key and version exist and were not deleted';
  } else if (f.status === undefined && !f.timedOut && /not supported on key|expired|can't be used before/i.test(f.message)) {
    hint = 'check the key\'s permitted operations (wrapKey, unwrapKey) and its validity dates';
  }
  return new SealboxError('PROVIDER', `${what}: ${op} failed: ${failureText(f, timeoutMs)}; ${hint}`, { cause: safeCause(f) });
}

/** Options of {@link azureKvKeyFromSpec}. */
export interface AzureKvSpecOptions {
  /** Credential; default DefaultAzureCredential (environment, workload identity, managed identity, CLI, ...). */
  readonly credential?: AzureCredential;
  /** Extra CA certificate(s) (PEM) to trust besides the system's, e.g. a vault emulator's. */
  readonly caPem?: string;
  /** Skip the check that the vault's auth challenge names a Key Vault domain (for emulators on 127.0.0.1). */
  readonly disableChallengeResourceVerification?: boolean;
  /** Key Vault API version; default 7.6. */
  readonly serviceVersion?: string;
  /** Further SDK client options (retry, proxy). */
  readonly clientOptions?: CryptographyClientOptions;
  readonly timeoutMs?: number;
  readonly limiter?: Limiter;
}

/**
 * Returns the AzureKvKey for a spec `azure:https://VAULT/keys/NAME[/VERSION]`
 * (the prefix is optional), authenticating with DefaultAzureCredential unless
 * a credential is given. Throws SealboxError('INPUT') for a malformed spec.
 */
export async function azureKvKeyFromSpec(spec: string, options: AzureKvSpecOptions = {}): Promise<AzureKvKey> {
  const keyId = spec.startsWith('azure:') ? spec.slice('azure:'.length) : spec;
  parseAzureKeyId(keyId);
  const credential = options.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  const clientOptions: CryptographyClientOptions = {
    ...options.clientOptions,
    serviceVersion: options.serviceVersion ?? options.clientOptions?.serviceVersion ?? AZURE_KV_SERVICE_VERSION,
    ...(options.disableChallengeResourceVerification ? { disableChallengeResourceVerification: true } : {}),
    ...(options.caPem === undefined ? {} : { tlsOptions: { ca: [...rootCertificates, options.caPem] } }),
  };
  return new AzureKvKey({
    keyId, credential, clientOptions,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.limiter === undefined ? {} : { limiter: options.limiter }),
  });
}
