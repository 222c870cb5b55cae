/**
 * AWS KMS key provider: wraps data keys with KMS Encrypt under an encryption
 * context that binds them to their location, unwraps them with Decrypt, and
 * re-wraps them to another key with ReEncrypt (the data key never leaves KMS).
 *
 * The SDK is loaded on first use (dynamic import), so code paths that never
 * touch AWS, such as `sealbox seal --cert`, do not pay for loading it.
 */
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import { bindingText, wrapContext } from '../crypto/binding.js';
import type { Binding, KeyUnwrapper, KeyWrapper, RecipientRef, WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import type { Limiter, ServiceFailure } from './kms-common.js';
import {
  DEFAULT_KMS_CONCURRENCY, DEFAULT_KMS_TIMEOUT_MS, createLimiter, serviceFailureOf, failureText, limitedCall, safeCause,
} from './kms-common.js';

type Sdk = typeof import('@aws-sdk/client-kms');
let sdkPromise: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => (sdkPromise ??= import('@aws-sdk/client-kms'));

/** Concurrent calls shared by every AwsKmsKey that is not given its own limiter. */
const sharedLimiter = createLimiter(DEFAULT_KMS_CONCURRENCY);

const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):alias\/[A-Za-z0-9/_-]+$/;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]+$/;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** How an AWS KMS key is named: key ARN, alias ARN, alias name or bare key id. */
export type AwsKeyIdKind = 'key-arn' | 'alias-arn' | 'alias' | 'key-id';

/**
 * Returns which form `keyId` has and the region an ARN names. Throws
 * SealboxError('INPUT') when it is none of the forms KMS accepts.
 */
export function parseAwsKeyId(keyId: string): { kind: AwsKeyIdKind; region: string | undefined } {
  const arn = KEY_ARN.exec(keyId) ?? ALIAS_ARN.exec(keyId);
  if (arn) return { kind: KEY_ARN.test(keyId) ? 'key-arn' : 'alias-arn', region: arn[1] };
  if (ALIAS_NAME.test(keyId)) return { kind: 'alias', region: undefined };
  if (KEY_ID.test(keyId)) return { kind: 'key-id', region: undefined };
  throw new SealboxError('INPUT', `invalid aws kms key "${keyId}": use a key ARN, an alias ARN, "alias/NAME" or a key id`);
}

/** Options of an {@link AwsKmsKey}. */
export interface AwsKmsKeyOptions {
  /** KMS client for the key's region, with its endpoint and credentials. */
  readonly client: KMSClient;
  /** Key ARN, alias ARN, `alias/NAME` or key id. Wraps name the key ARN KMS resolves it to. */
  readonly keyId: string;
  /** Time limit of one call, SDK retries included; default 15 s. */
  readonly timeoutMs?: number;
  /** Bounds concurrent calls; default one limiter of 8 shared by all AWS KMS keys. */
  readonly limiter?: Limiter;
}

/**
 * One AWS KMS key as a recipient: wraps data keys for it and unwraps the
 * stanzas it wrapped. Stanzas name the key ARN; a key configured by alias
 * learns its ARN from its first wrap or {@link AwsKmsKey.resolve}.
 */
export class AwsKmsKey implements KeyWrapper, KeyUnwrapper {
  /** `{ type: 'aws-kms', id }` with the id as configured (an alias until resolved). */
  readonly recipient: RecipientRef;
  /** `aws-kms:ID` for messages. */
  readonly description: string;
  readonly #client: KMSClient;
  readonly #keyId: string;
  readonly #kind: AwsKeyIdKind;
  readonly #timeoutMs: number;
  readonly #limiter: Limiter;
  #arn: string | undefined;
  #resolving: Promise<string> | undefined;

  /** Throws SealboxError('INPUT') when `keyId` is not a KMS key name. */
  constructor(options: AwsKmsKeyOptions) {
    this.#kind = parseAwsKeyId(options.keyId).kind;
    this.#client = options.client;
    this.#keyId = options.keyId;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_KMS_TIMEOUT_MS;
    this.#limiter = options.limiter ?? sharedLimiter;
    this.#arn = this.#kind === 'key-arn' ? options.keyId : undefined;
    this.recipient = { type: 'aws-kms', id: options.keyId };
    this.description = `aws-kms:${options.keyId}`;
  }

  /** The key ARN, once known (at once when configured with one). */
  get keyArn(): string | undefined {
    return this.#arn;
  }

  /**
   * Returns the key ARN, asking KMS (DescribeKey, once) when the key was
   * configured by alias or key id. Throws SealboxError('PROVIDER') on failure.
   */
  async resolve(): Promise<string> {
    if (this.#arn !== undefined) return this.#arn;
    this.#resolving ??= this.#call('resolve', async (sdk, abortSignal) => {
      const out = await this.#client.send(new sdk.DescribeKeyCommand({ KeyId: this.#keyId }), { abortSignal });
      return requireArn(out.KeyMetadata?.Arn, this.#keyId);
    }).finally(() => { this.#resolving = undefined; });
    this.#arn = await this.#resolving;
    return this.#arn;
  }

  /**
   * Returns the data key encrypted by KMS under the binding's encryption
   * context, named with the key ARN. Throws SealboxError('PROVIDER') when
   * KMS fails, SealboxError('INPUT') for an invalid binding.
   */
  async wrap(dataKey: Uint8Array, binding: Binding): Promise<WrappedKey> {
    const context = wrapContext(binding);
    const out = await this.#call('encrypt', (sdk, abortSignal) =>
      this.#client.send(new sdk.EncryptCommand({ KeyId: this.#keyId, Plaintext: dataKey, EncryptionContext: context }), { abortSignal }),
    dataKey);
    const arn = requireArn(out.KeyId, this.#keyId);
    if (out.CiphertextBlob === undefined) throw new SealboxError('PROVIDER', `aws kms key "${this.#keyId}": encrypt returned no ciphertext; check the KMS endpoint`);
    this.#arn ??= arn;
    return { type: 'aws-kms', id: arn, wrapped: out.CiphertextBlob };
  }

  /**
   * Returns the data key of a stanza this key wrapped, or null (without a
   * call) when the stanza names another type or key. A key configured by
   * alias resolves its ARN first (one DescribeKey). Throws
   * SealboxError('TAMPERED') when KMS says the wrap does not authenticate
   * under this binding (moved to another location, or altered), and
   * SealboxError('PROVIDER') when KMS fails.
   */
  async unwrap(stanza: WrappedKey, binding: Binding): Promise<Uint8Array | null> {
    if (!(await this.#owns(stanza))) return null;
    const context = wrapContext(binding);
    const out = await this.#call('decrypt', (sdk, abortSignal) =>
      this.#client.send(new sdk.DecryptCommand({ KeyId: stanza.id, CiphertextBlob: stanza.wrapped, EncryptionContext: context }), { abortSignal }),
    undefined, binding);
    if (out.Plaintext === undefined) throw new SealboxError('PROVIDER', `aws kms key "${stanza.id}": decrypt returned no plaintext; check the KMS endpoint`);
    return out.Plaintext;
  }

  /**
   * Re-wraps a stanza of this key for `to` with ReEncrypt, so the data key is
   * never seen outside KMS (both keys must be reachable through this key's
   * client, i.e. in its region). Returns null when the stanza is not this
   * key's. Throws like {@link AwsKmsKey.unwrap}.
   */
  async rewrap(stanza: WrappedKey, binding: Binding, to: AwsKmsKey): Promise<WrappedKey | null> {
    if (!(await this.#owns(stanza))) return null;
    const context = wrapContext(binding);
    const out = await this.#call('re-encrypt', (sdk, abortSignal) =>
      this.#client.send(new sdk.ReEncryptCommand({
        CiphertextBlob: stanza.wrapped, SourceKeyId: stanza.id, SourceEncryptionContext: context,
        DestinationKeyId: to.#keyId, DestinationEncryptionContext: context,
      }), { abortSignal }),
    undefined, binding);
    const arn = requireArn(out.KeyId, to.#keyId);
    if (out.CiphertextBlob === undefined) throw new SealboxError('PROVIDER', `aws kms key "${stanza.id}": re-encrypt returned no ciphertext; check the KMS endpoint`);
    return { type: 'aws-kms', id: arn, wrapped: out.CiphertextBlob };
  }

  async #owns(stanza: WrappedKey): Promise<boolean> {
    if (stanza.type !== 'aws-kms') return false;
    switch (this.#kind) {
      case 'key-arn':
        return stanza.id === this.#arn;
      case 'key-id':
        // The ARN ends with the key id; the region is the client's, so compare fully once known.
        return this.#arn !== undefined ? stanza.id === this.#arn : stanza.id.endsWith(`:key/${this.#keyId}`);
      default:
        return stanza.id === (this.#arn ?? (await this.resolve()));
    }
  }

  /** Runs one SDK call within the limiter and time limit; maps its failure. */
  async #call<T>(op: string, fn: (sdk: Sdk, signal: AbortSignal) => Promise<T>, secret?: Uint8Array, binding?: Binding): Promise<T> {
    const sdk = await loadSdk();
    try {
      return await limitedCall(this.#limiter, this.#timeoutMs, (signal) => fn(sdk, signal));
    } catch (err) {
      throw awsError(op, this.#arn ?? this.#keyId, serviceFailureOf(err, secret), this.#timeoutMs, binding);
    }
  }
}

function requireArn(arn: string | undefined, keyId: string): string {
  if (arn === undefined || !KEY_ARN.test(arn)) {
    throw new SealboxError('PROVIDER', `aws kms key "${keyId}": the service returned no valid key ARN; check the KMS endpoint`);
  }
  return arn;
}

// Service answers that mean "this ciphertext does not authenticate here".
const TAMPERED = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const AUTH = new Set([
  'AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException',
  'CredentialsProviderError', 'InvalidClientTokenId', 'SignatureDoesNotMatch',
]);
const ACTIONS: Partial<Record<string, string>> = { encrypt: 'Encrypt', decrypt: 'Decrypt', 're-encrypt': 'ReEncryptFrom and kms:ReEncryptTo', resolve: 'DescribeKey' };
const KEY_STATE = new Set(['NotFoundException', 'DisabledException', 'KMSInvalidStateException', 'InvalidKeyUsageException']);

function awsError(op: string, key: string, f: ServiceFailure, timeoutMs: number, binding?: Binding): SealboxError {
  if (binding && TAMPERED.has(f.code)) {
    return new SealboxError('TAMPERED',
      `aws kms key "${key}" refused the wrapped data key for "${bindingText(binding)}" (${f.code}): ` +
      'it was sealed for another location or altered; reseal it for this location', { cause: safeCause(f) });
  }
  let hint = 'the service is unreachable or failing; check the endpoint (AWS_ENDPOINT_URL_KMS, region) and the network, then retry';
  if (AUTH.has(f.code) || f.status === 401 || f.status === 403) {
    hint = `check the AWS credentials and that the key policy allows kms:${ACTIONS[op] ?? 'Decrypt'}`;
  } else if (KEY_STATE.has(f.code)) {
    hint = 'check that the key exists, is enabled and is a symmetric encryption key';
  } else if (f.code === 'ValidationException' || f.status === 400) {
    hint = 'check the key name and the data';
  } else if (/region/i.test(f.message) && f.status === undefined && !f.timedOut) {
    hint = 'set AWS_REGION or name the key by its ARN';
  }
  return new SealboxError('PROVIDER', `aws kms key "${key}": ${op} failed: ${failureText(f, timeoutMs)}; ${hint}`, { cause: safeCause(f) });
}

/** Options of {@link awsKmsKeyFromSpec}. */
export interface AwsKmsSpecOptions {
  /** KMS endpoint; default from the SDK (honours AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL). */
  readonly endpoint?: string;
  /** Region when the key is not named by ARN; default from the SDK (AWS_REGION, config file). */
  readonly region?: string;
  /** Credentials; default the SDK's chain (env, SSO, config, web identity, container, instance). */
  readonly credentials?: KMSClientConfig['credentials'];
  readonly timeoutMs?: number;
  readonly limiter?: Limiter;
}

/**
 * Returns the AwsKmsKey for a spec `aws:KEY_ARN_OR_ALIAS` (the prefix is
 * optional), with a KMSClient in the ARN's region using the SDK's default
 * credential chain. Throws SealboxError('INPUT') for a malformed spec.
 */
export async function awsKmsKeyFromSpec(spec: string, options: AwsKmsSpecOptions = {}): Promise<AwsKmsKey> {
  const keyId = spec.startsWith('aws:') ? spec.slice('aws:'.length) : spec;
  const { region } = parseAwsKeyId(keyId);
  // The SDK warns on every start under Node < 22 about its future releases; we pin
  // its version and support Node 20, so the warning would only confuse CLI users.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { KMSClient: Client } = await loadSdk();
  const resolvedRegion = region ?? options.region;
  const client = new Client({
    ...(resolvedRegion === undefined ? {} : { region: resolvedRegion }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  return new AwsKmsKey({
    client, keyId,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.limiter === undefined ? {} : { limiter: options.limiter }),
  });
}
