/**
 * KMS key specs as users write them (`--kms`, `.sealbox.yaml`):
 * `aws:KEY_ARN_OR_ALIAS` and `azure:https://VAULT/keys/NAME[/VERSION]`.
 */
import type { RecipientRef } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import type { AwsKmsSpecOptions } from './aws-kms.js';
import { AwsKmsKey, awsKmsKeyFromSpec } from './aws-kms.js';
import type { AzureKvSpecOptions } from './azure-kv.js';
import { AzureKvKey, azureKvKeyFromSpec } from './azure-kv.js';

/** A cloud KMS key: wraps for and unwraps its own stanzas. */
export type KmsKey = AwsKmsKey | AzureKvKey;

/** Per-provider options of {@link kmsKeyFromSpec}. */
export interface KmsSpecOptions {
  readonly aws?: AwsKmsSpecOptions;
  readonly azure?: AzureKvSpecOptions;
}

/**
 * Returns the key a spec names, with the provider's standard credential
 * chain. Throws SealboxError('INPUT') when the spec has no known prefix or
 * names no valid key.
 */
export function kmsKeyFromSpec(spec: string, options: KmsSpecOptions = {}): Promise<KmsKey> {
  if (spec.startsWith('aws:')) return awsKmsKeyFromSpec(spec, options.aws);
  if (spec.startsWith('azure:')) return azureKvKeyFromSpec(spec, options.azure);
  return Promise.reject(new SealboxError('INPUT',
    `invalid kms key "${spec}": use aws:KEY_ARN_OR_ALIAS or azure:https://VAULT/keys/NAME[/VERSION]`));
}

/** Returns the spec of the key a recipient names (to unwrap its stanza), or undefined for a cluster certificate. */
export function kmsSpecOf(ref: RecipientRef): string | undefined {
  switch (ref.type) {
    case 'aws-kms':
      return `aws:${ref.id}`;
    case 'azure-kv':
      return `azure:${ref.id}`;
    case 'cert':
      return undefined;
  }
}

/**
 * Returns the options set by environment variables that the SDKs do not read
 * themselves: `SEALBOX_AZURE_DISABLE_CHALLENGE_VERIFICATION=1` (for a vault
 * emulator on a loopback address). Endpoints, regions and credentials come
 * from the SDKs' own variables (see docs/KMS.md).
 */
export function kmsOptionsFromEnv(env: NodeJS.ProcessEnv): KmsSpecOptions {
  const flag = env.SEALBOX_AZURE_DISABLE_CHALLENGE_VERIFICATION;
  const disable = flag !== undefined && /^(1|true|yes)$/i.test(flag);
  return disable ? { azure: { disableChallengeResourceVerification: true } } : {};
}

export { AwsKmsKey, AzureKvKey };
