/**
 * Which KMS keys the controller may call (`--kms-allow`). A stanza's id is
 * written by whoever wrote the sealed resource, and an Azure id is a URL the
 * controller would connect to: without a list, a namespace editor could make
 * it connect anywhere (internal addresses, a port-scan oracle through the
 * error text) and tie up the shared KMS limiter. A stanza outside the list is
 * refused before any network call.
 *
 * Entries, comma-separated:
 * - `default`: the public Azure Key Vault and Managed HSM host suffixes, and
 *   AWS keys of the controller's own account (from AWS_ROLE_ARN, which IRSA
 *   sets) in the region the environment configures (AWS_REGION, else
 *   AWS_DEFAULT_REGION); no AWS key when either is unknown;
 * - `azure:.SUFFIX` (any host under it, port 443) or `azure:HOST[:PORT]` (that host only);
 * - `aws:ACCOUNT:REGION`, where either may be `*`.
 */
import type { WrappedKey } from '../crypto/types.js';
import { SealboxError } from '../errors.js';
import { parseAzureKeyId } from './azure-kv.js';

/** The Key Vault and Managed HSM host suffixes of the public Azure clouds. */
export const AZURE_PUBLIC_SUFFIXES: readonly string[] = [
  '.vault.azure.net', '.vault.azure.cn', '.vault.usgovcloudapi.net', '.vault.microsoftazure.de',
  '.managedhsm.azure.net', '.managedhsm.chinacloudapi.cn', '.managedhsm.usgovcloudapi.net',
];

/** One `aws:ACCOUNT:REGION` entry; `*` matches any. */
export interface AwsAllow {
  readonly account: string;
  readonly region: string;
}

/** The parsed allowlist. */
export interface KmsAllowlist {
  /** `.suffix` (host under it, default port) or `host[:port]` (exactly). */
  readonly azure: readonly string[];
  readonly aws: readonly AwsAllow[];
}

const AWS_ENTRY = /^aws:(\*|\d{12}):(\*|[a-z]{2}(?:-[a-z]+)+-\d)$/;
const AZURE_HOST = /^(\.?[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/\S+$/;

/**
 * The controller's own AWS account, from the role it runs as (`AWS_ROLE_ARN`,
 * which IRSA sets); undefined when unknown.
 */
export function ownAwsAccount(env: NodeJS.ProcessEnv): string | undefined {
  return ROLE_ARN.exec(env.AWS_ROLE_ARN ?? '')?.[1];
}

/** The `default` entries in an environment: AWS only for the controller's own account and region. */
function defaults(env: NodeJS.ProcessEnv): KmsAllowlist {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const account = ownAwsAccount(env);
  const known = region !== undefined && region !== '' && account !== undefined;
  return { azure: AZURE_PUBLIC_SUFFIXES, aws: known ? [{ account, region }] : [] };
}

/**
 * Parses a `--kms-allow` list; an empty list means `default`. Throws
 * SealboxError('INPUT') naming an entry that is none of the forms above.
 */
export function parseKmsAllow(list: string, env: NodeJS.ProcessEnv): KmsAllowlist {
  const azure: string[] = [];
  const aws: AwsAllow[] = [];
  const entries = list.split(',').map((e) => e.trim()).filter((e) => e !== '');
  for (const entry of entries.length === 0 ? ['default'] : entries) {
    if (entry === 'default') {
      const d = defaults(env);
      azure.push(...d.azure);
      aws.push(...d.aws);
      continue;
    }
    const a = AWS_ENTRY.exec(entry);
    const h = entry.startsWith('azure:') ? AZURE_HOST.exec(entry.slice('azure:'.length).toLowerCase()) : null;
    if (a !== null) aws.push({ account: a[1] ?? '*', region: a[2] ?? '*' });
    else if (h !== null && !(h[1]?.startsWith('.') === true && h[2] !== undefined)) azure.push(h[0]);
    else throw new SealboxError('INPUT', `KMS allow list: invalid entry "${entry.slice(0, 80)}": use default, azure:.SUFFIX, azure:HOST[:PORT] or aws:ACCOUNT:REGION (* for any)`, { hint: { kind: 'kms-allow-entry' } });
  }
  return { azure, aws };
}

/** True when the allowlist lets the controller call the key a KMS stanza names (false for a malformed id). */
export function isAllowed(stanza: Pick<WrappedKey, 'type' | 'id'>, allow: KmsAllowlist): boolean {
  if (stanza.type === 'aws-kms') {
    // KMS names every wrap with the key ARN; other forms would take their region from the client.
    const m = KEY_ARN.exec(stanza.id);
    if (m === null) return false;
    return allow.aws.some((e) => (e.account === '*' || e.account === m[2]) && (e.region === '*' || e.region === m[1]));
  }
  if (stanza.type !== 'azure-kv') return false;
  let url: URL;
  try {
    url = new URL(parseAzureKeyId(stanza.id).vaultUrl);
  } catch {
    return false;
  }
  return allow.azure.some((e) => (e.startsWith('.')
    ? url.port === '' && url.hostname.endsWith(e) && url.hostname.length > e.length
    : url.host === e));
}
