/**
 * What a rotation needs from the key providers: targets resolved to the ids
 * their stanzas carry (an AWS alias to its key ARN, a Key Vault key without
 * version to its newest version), AWS-to-AWS re-wraps with ReEncrypt, and
 * recipient matching for `--remove-recipient`.
 */
import type { Binding, KeyWrapper, RecipientRef, WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import type { RotationTarget } from '../format/rotate.js';
import { AwsKmsKey } from './aws-kms.js';
import { AzureKvKey, parseAzureKeyId } from './azure-kv.js';
import type { KmsStanzaUnwrapper } from './kms-unwrapper.js';

/**
 * Returns the rotation target of a wrapper: its recipient as its stanzas name
 * it. Asks the key service once for an AWS key named by alias (DescribeKey)
 * and for a Key Vault key without version (its newest version). Throws
 * SealboxError('PROVIDER') when that call fails.
 */
export async function resolveTarget(wrapper: KeyWrapper): Promise<RotationTarget> {
  if (wrapper instanceof AwsKmsKey) {
    return { ref: { type: 'aws-kms', id: await wrapper.resolve() }, wrapper };
  }
  if (wrapper instanceof AzureKvKey) {
    const id = await wrapper.currentKeyId();
    const key = parseAzureKeyId(id);
    return {
      ref: { type: 'azure-kv', id },
      wrapper: pinned(wrapper, id),
      supersedes: (r) => r.type === 'azure-kv' && r.id !== id && sameAzureKey(r.id, key.vaultUrl, key.name),
    };
  }
  return { ref: wrapper.recipient, wrapper };
}

/**
 * A wrapper that refuses to wrap with any version but `id`: a key version
 * created during a run must not make one file's stanza differ from the
 * target the run compares with (the next run would move it again).
 */
function pinned(key: AzureKvKey, id: string): KeyWrapper {
  return {
    recipient: { type: 'azure-kv', id },
    async wrap(dataKey: Uint8Array): Promise<WrappedKey> {
      const stanza = await key.wrap(dataKey);
      if (stanza.id !== id) {
        throw new SealboxError('PROVIDER', `azure key vault key "${id}": a newer version (${stanza.id}) appeared during the run; run the rotation again`);
      }
      return stanza;
    },
  };
}

function sameAzureKey(id: string, vaultUrl: string, name: string): boolean {
  try {
    const k = parseAzureKeyId(id);
    return k.vaultUrl === vaultUrl && k.name.toLowerCase() === name.toLowerCase();
  } catch {
    return false;
  }
}

const ARN_REGION = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/;

/**
 * Returns the `rewrap` hook of a rotation: an AWS stanza is re-wrapped for an
 * AWS target in the same region with ReEncrypt (the data key never leaves
 * KMS), using the key `source` builds for the stanza. Only stanzas `mayUse`
 * accepts are re-encrypted: ReEncrypt checks no key commitment, so a stanza
 * a Git writer added for a key of their own would otherwise put their data
 * key into the new stanza. Every other pair resolves null, so the rotation
 * unwraps (checking the commitment) and wraps instead.
 */
export function reEncryptVia(source: KmsStanzaUnwrapper, mayUse: (stanza: RecipientRef) => boolean): (stanza: WrappedKey, binding: Binding, target: RotationTarget) => Promise<WrappedKey | null> {
  return async (stanza, binding, target) => {
    const to = target.wrapper;
    if (stanza.type !== 'aws-kms' || !(to instanceof AwsKmsKey) || !mayUse(stanza)) return null;
    const from = ARN_REGION.exec(stanza.id)?.[1];
    if (from === undefined || from !== ARN_REGION.exec(target.ref.id)?.[1]) return null;
    const key = await source.keyFor(stanza);
    if (!(key instanceof AwsKmsKey)) return null;
    return key.rewrap(stanza, binding, to);
  };
}

/**
 * Returns a predicate for `--remove-recipient` values: a KMS spec or id
 * (`aws:ARN`, an ARN, `azure:https://VAULT/keys/NAME[/VERSION]`: every
 * version without one), or a certificate fingerprint, full or its first 12+
 * hex digits (`cert:` prefix optional), as messages show them. Throws
 * SealboxError('INPUT') for a value that is none of these.
 */
export function recipientMatcher(values: readonly string[]): (r: RecipientRef) => boolean {
  const tests = values.map((v) => matcherOf(v));
  return (r) => tests.some((t) => t(r));
}

function matcherOf(value: string): (r: RecipientRef) => boolean {
  const v = value.trim();
  const hex = /^(?:cert:)?([0-9a-f]{12,64})$/i.exec(v);
  if (hex) {
    const prefix = (hex[1] ?? '').toLowerCase();
    return (r) => r.type === 'cert' && r.id.startsWith(prefix);
  }
  const aws = v.startsWith('aws:') ? v.slice(4) : v;
  if (/^arn:aws[a-z-]*:kms:/.test(aws)) return (r) => r.type === 'aws-kms' && r.id === aws;
  const azure = v.startsWith('azure:') ? v.slice(6) : v;
  if (azure.startsWith('https://')) {
    const k = parseAzureKeyId(azure);
    return (r) => r.type === 'azure-kv' && sameAzureKey(r.id, k.vaultUrl, k.name) && (k.version === undefined || parseAzureKeyId(r.id).version === k.version);
  }
  throw new SealboxError('INPUT', `recipient to remove ${v.slice(0, 80)}: use a certificate fingerprint (12+ hex digits), an AWS key ARN (aws:ARN) or a Key Vault key id (azure:https://VAULT/keys/NAME[/VERSION])`, { hint: { kind: 'recipient-to-remove' } });
}
