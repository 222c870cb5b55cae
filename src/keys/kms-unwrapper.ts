/**
 * An unwrapper for any KMS stanza: it builds the key a stanza names (from the
 * stanza's own id, `kmsSpecOf`) with the provider's default credential chain,
 * keeps it for later stanzas of the same key, and delegates. This is how
 * `sealbox unseal`/`edit`/`rotate` and the controller unseal KMS recipients
 * without being told the keys in advance.
 *
 * Which vault or account a stanza names comes from the sealed file; the
 * endpoint and the credential never do (they come from the environment), and
 * the Azure SDK sends a token only to a host its challenge check accepts.
 */
import type { Binding, KeyUnwrapper, RecipientType, WrappedKey } from '../crypto/types.js';
import { SealboxError, isSealboxError } from '../errors.js';
import { parseAzureKeyId } from './azure-kv.js';
import type { KmsAllowlist } from './kms-allow.js';
import { isAllowed } from './kms-allow.js';
import { fixedFailureText } from './kms-common.js';
import type { KmsKey, KmsSpecOptions } from './kms-spec.js';
import { kmsKeyFromSpec } from './kms-spec.js';

/** The cloud key services sealbox speaks. */
export type KmsProvider = 'aws' | 'azure';

/** Every provider, in a stable order. */
export const KMS_PROVIDERS: readonly KmsProvider[] = ['aws', 'azure'];

const STANZA_TYPES: Readonly<Record<KmsProvider, RecipientType>> = { aws: 'aws-kms', azure: 'azure-kv' };

/** Returns the provider of a stanza type, or undefined for a cluster certificate. */
export function providerOfType(type: RecipientType): KmsProvider | undefined {
  return type === 'aws-kms' ? 'aws' : type === 'azure-kv' ? 'azure' : undefined;
}

/**
 * Parses a comma-separated provider list (`aws,azure`; empty for none).
 * Throws SealboxError('INPUT') naming an unknown provider.
 */
export function parseKmsProviders(list: string): KmsProvider[] {
  const out: KmsProvider[] = [];
  for (const raw of list.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '') continue;
    if (p !== 'aws' && p !== 'azure') throw new SealboxError('INPUT', `unknown kms provider "${p.slice(0, 40)}": use aws, azure or both (aws,azure)`);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** What one unwrap call through a provider ended with, for metrics. */
export type KmsCallResult = 'ok' | 'error';

/** Options of {@link KmsStanzaUnwrapper}. */
export interface KmsStanzaUnwrapperOptions {
  /** Providers whose stanzas it accepts; default all. */
  readonly providers?: readonly KmsProvider[];
  /** Endpoint, credential and TLS options of the keys it builds. */
  readonly options?: KmsSpecOptions;
  /** Called after every call to a key service (not for cache hits or foreign stanzas). */
  readonly onCall?: (provider: KmsProvider, result: KmsCallResult) => void;
  /** Most key objects kept (each holds an SDK client); default 256. */
  readonly maxKeys?: number;
  /** Keys it may call (kms-allow.ts); a stanza outside is refused with no call. Default: every key. */
  readonly allow?: KmsAllowlist;
  /**
   * Errors of a fixed form: no service or network text, only the key and a
   * fixed phrase (fixedFailureText). For the controller, whose errors reach
   * status, events and HTTP answers seen by whoever wrote the stanza.
   */
  readonly fixedErrors?: boolean;
  /** Called with each failure as the provider reported it (for a log only the operator reads). */
  readonly onFailure?: (provider: KmsProvider, err: unknown) => void;
}

/** Message of a stanza refused by the allowlist; fixed, so it says nothing about the address. */
export const NOT_ALLOWED_MESSAGE = 'this key is not in the controller\'s --kms-allow list, so the controller did not call it; ask the cluster admin to allow its vault or account, or reseal for an allowed key';

/** Message of an AWS stanza when no AWS account is allowed (the controller's own is unknown); fixed. */
export const NO_AWS_ACCOUNT_MESSAGE = 'no AWS account is in the controller\'s --kms-allow list, so the controller did not call this key: by default it allows only its own account (from AWS_ROLE_ARN) in AWS_REGION, and one of them is not set; ask the cluster admin to set them or add --kms-allow default,aws:ACCOUNT:REGION';

/**
 * Unwraps any stanza of the enabled providers with the key the stanza names.
 * Returns null for stanzas of other types; throws like the provider's key
 * (TAMPERED, PROVIDER), or SealboxError('INPUT') for a stanza whose id names
 * no valid key.
 */
export class KmsStanzaUnwrapper implements KeyUnwrapper {
  readonly description: string;
  readonly types: readonly RecipientType[];
  readonly #types: ReadonlySet<RecipientType>;
  readonly #options: KmsSpecOptions;
  readonly #onCall: ((provider: KmsProvider, result: KmsCallResult) => void) | undefined;
  readonly #maxKeys: number;
  readonly #keys = new Map<string, Promise<KmsKey>>();
  readonly #allow: KmsAllowlist | undefined;
  readonly #fixedErrors: boolean;
  readonly #onFailure: ((provider: KmsProvider, err: unknown) => void) | undefined;

  constructor(o: KmsStanzaUnwrapperOptions = {}) {
    this.#allow = o.allow;
    this.#onFailure = o.onFailure;
    this.#fixedErrors = o.fixedErrors ?? false;
    const providers = o.providers ?? KMS_PROVIDERS;
    this.types = providers.map((p) => STANZA_TYPES[p]);
    this.#types = new Set(this.types);
    this.#options = o.options ?? {};
    this.#onCall = o.onCall;
    this.#maxKeys = o.maxKeys ?? 256;
    this.description = `kms:${providers.join(',') || 'none'}`;
  }

  async unwrap(stanza: WrappedKey, binding: Binding): Promise<Uint8Array | null> {
    if (!this.#types.has(stanza.type)) return null;
    if (this.#allow !== undefined && !isAllowed(stanza, this.#allow)) {
      throw new SealboxError('NO_KEY', stanza.type === 'aws-kms' && this.#allow.aws.length === 0 ? NO_AWS_ACCOUNT_MESSAGE : NOT_ALLOWED_MESSAGE);
    }
    const provider = stanza.type === 'aws-kms' ? 'aws' : 'azure';
    let key: KmsKey | undefined;
    try {
      key = await this.keyFor(stanza);
      if (key === undefined) return null;
      const dataKey = await key.unwrap(stanza, binding);
      this.#onCall?.(provider, 'ok');
      return dataKey;
    } catch (err) {
      if (key !== undefined) this.#onCall?.(provider, 'error');
      this.#onFailure?.(provider, err);
      throw this.#fixedErrors ? fixedError(err) : err;
    }
  }

  /**
   * Returns the key that can unwrap `stanza` (built once per key; Azure keys
   * once per vault and name, so every version shares a client), or undefined
   * for a stanza of a type this unwrapper does not accept. Throws
   * SealboxError('INPUT') when the stanza's id names no valid key.
   */
  async keyFor(stanza: WrappedKey): Promise<KmsKey | undefined> {
    if (!this.#types.has(stanza.type)) return undefined;
    const spec = stanza.type === 'azure-kv' ? azureKeySpec(stanza.id) : `aws:${stanza.id}`;
    let key = this.#keys.get(spec);
    if (key === undefined) {
      if (this.#keys.size >= this.#maxKeys) this.#keys.clear();
      key = kmsKeyFromSpec(spec, this.#options);
      this.#keys.set(spec, key);
      // A failed build (bad id) is not kept, so a later stanza gets a fresh try.
      void key.catch(() => { this.#keys.delete(spec); });
    }
    return key;
  }
}

/** `azure:https://VAULT/keys/NAME`: the key without its version, so one object unwraps every version. */
function azureKeySpec(id: string): string {
  const k = parseAzureKeyId(id);
  return `azure:${k.vaultUrl}/keys/${k.name.toLowerCase()}`;
}

/** The same failure in fixed words (see KmsStanzaUnwrapperOptions.fixedErrors), keeping its code. */
function fixedError(err: unknown): SealboxError {
  if (!isSealboxError(err)) return new SealboxError('PROVIDER', 'unwrap failed: the call failed');
  switch (err.code) {
    case 'TAMPERED':
      return new SealboxError('TAMPERED', 'the key service refused the wrapped data key: it was altered, sealed for another location, or wrapped by another key; reseal it');
    case 'INPUT':
      return new SealboxError('INPUT', 'the stanza does not name a valid key');
    default:
      return new SealboxError(err.code, `unwrap failed: ${fixedFailureText(err.cause)}; check the controller's access to this key and the network (its log has the service's own message at debug level)`);
  }
}
