/** Where a sealed value may be unsealed. See docs/FORMAT.md "Binding". */
export type Scope = 'strict' | 'namespace' | 'cluster';

/** All scopes, strictest first. */
export const SCOPES: readonly Scope[] = ['strict', 'namespace', 'cluster'];

/**
 * The location a sealed resource is bound to. `namespace` is required for
 * `strict` and `namespace` scope, `name` for `strict`; other fields are
 * ignored by the binding.
 */
export interface Binding {
  readonly scope: Scope;
  readonly namespace: string;
  readonly name: string;
}

/** Kind of key a recipient stanza names. */
export type RecipientType = 'cert' | 'aws-kms' | 'azure-kv';

/**
 * Names the key that wrapped a data key: the SHA-256 fingerprint of a
 * cluster public key (hex), an AWS KMS key ARN, or an Azure Key Vault key id
 * with version.
 */
export interface RecipientRef {
  readonly type: RecipientType;
  readonly id: string;
}

/** A data key wrapped for one recipient (a "stanza"). */
export interface WrappedKey extends RecipientRef {
  readonly wrapped: Uint8Array;
}

/** Wraps a data key for one recipient; the binding is bound into the wrap. */
export interface KeyWrapper {
  /** The recipient as configured (an alias may resolve to another id on wrap). */
  readonly recipient: RecipientRef;
  /**
   * Returns the wrapped data key, named with the recipient's resolved id.
   * Throws SealboxError('PROVIDER') when the key service fails.
   */
  wrap(dataKey: Uint8Array, binding: Binding): Promise<WrappedKey>;
}

/**
 * Unwraps data keys it holds the private part of. Returns the data key,
 * `null` when the stanza is not this key's, and throws only when it is this
 * key's but unwrapping failed: SealboxError('TAMPERED') for a wrap that does
 * not authenticate, SealboxError('PROVIDER') for a key service outage.
 */
export interface KeyUnwrapper {
  /** Short human-readable name for messages, e.g. `cert:1a2b3c4d5e6f`. */
  readonly description: string;
  /**
   * The stanza types it can unwrap; absent for any. A group with none of
   * them does not name this unwrapper among "your keys" in a NO_KEY message.
   */
  readonly types?: readonly RecipientType[];
  unwrap(stanza: WrappedKey, binding: Binding): Promise<Uint8Array | null>;
}
