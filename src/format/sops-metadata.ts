/**
 * The `sops:` block of a sops v3 file (stores/stores.go `metadata`): the keys
 * that wrap the data key, the rules that say which values are encrypted, the
 * MAC and its timestamp. Only what sealbox can act on is kept; everything
 * sealbox cannot honour is refused here with what to do.
 */
import { SealboxError, quote } from '../errors.js';
import type { JsonObject } from './object.js';
import { isObject } from './object.js';

/** An AWS KMS entry of `sops.kms`: the key, its encryption context and the wrapped data key. */
export interface SopsAwsKey {
  readonly arn: string;
  /** sops' `context`: the encryption context of Encrypt and Decrypt. */
  readonly context: Readonly<Record<string, string>>;
  /** sops' `role`: a role to assume before calling KMS, if any. */
  readonly role?: string;
  /** sops' `aws_profile`, if any. */
  readonly awsProfile?: string;
  /** The data key as KMS encrypted it (base64 in the file). */
  readonly encrypted: Uint8Array;
}

/** An Azure Key Vault entry of `sops.azure_kv`: the key version and the data key it encrypted (RSA-OAEP-256). */
export interface SopsAzureKey {
  readonly vaultUrl: string;
  readonly name: string;
  readonly version: string;
  readonly encrypted: Uint8Array;
}

/** Which values sops encrypted: at most one rule is set (sops refuses more). */
export interface SopsRules {
  readonly unencryptedSuffix?: string;
  readonly encryptedSuffix?: string;
  readonly unencryptedRegex?: RegExp;
  readonly encryptedRegex?: RegExp;
}

/** What sealbox reads of a sops file's metadata. */
export interface SopsMetadata {
  readonly kms: readonly SopsAwsKey[];
  readonly azureKv: readonly SopsAzureKey[];
  /** Kinds of key sealbox cannot use (`age`, `pgp`, `gcp_kms`, `hc_vault`, `hckms`) present in the file. */
  readonly others: readonly string[];
  /** `lastmodified` as sops formats it for the MAC's additional data (Go's RFC 3339, no fraction). */
  readonly lastModified: string;
  /** The encrypted MAC (`mac`). */
  readonly mac: string;
  readonly macOnlyEncrypted: boolean;
  readonly rules: SopsRules;
}

const OTHER_KINDS = ['age', 'pgp', 'gcp_kms', 'hc_vault', 'hckms'] as const;
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads a `sops:` block. Throws SealboxError('INPUT') for a malformed block,
 * for several key groups (Shamir), for comment-based encryption rules, and
 * for a file no AWS KMS or Azure Key Vault key can open (age, PGP, ...).
 */
export function parseSopsMetadata(raw: unknown, source: string): SopsMetadata {
  if (!isObject(raw)) throw bad(source, 'the "sops" block is not a mapping');
  refuseUnsupported(raw, source);
  const kms = list(raw.kms, source, 'kms').map((k, i) => awsKey(k, `${source} sops.kms[${String(i)}]`));
  const azureKv = list(raw.azure_kv, source, 'azure_kv').map((k, i) => azureKey(k, `${source} sops.azure_kv[${String(i)}]`));
  const others = OTHER_KINDS.filter((k) => list(raw[k], source, k).length > 0);
  if (kms.length === 0 && azureKv.length === 0) {
    const kinds = others.length > 0 ? others.join(', ') : 'no keys';
    throw new SealboxError('INPUT', `${source} is encrypted for ${kinds}, not for an AWS KMS or Azure Key Vault key: sealbox has no age or PGP recipients; decrypt it with sops and seal the Secret with "sealbox seal" (or add a KMS key with "sops updatekeys" and convert again)`);
  }
  return {
    kms, azureKv, others,
    lastModified: goRfc3339(text(raw.lastmodified, source, 'lastmodified'), source),
    mac: text(raw.mac, source, 'mac'),
    macOnlyEncrypted: raw.mac_only_encrypted === true,
    rules: rulesOf(raw, source),
  };
}

function refuseUnsupported(raw: JsonObject, source: string): void {
  if (Array.isArray(raw.key_groups) && raw.key_groups.length > 0) {
    throw new SealboxError('INPUT', `${source} splits its data key over ${String(raw.key_groups.length)} key groups (Shamir): sealbox seals for keys that each open the secret alone, which would drop the quorum; re-encrypt it with sops for one key group, or seal the Secret with "sealbox seal"`);
  }
  for (const k of ['encrypted_comment_regex', 'unencrypted_comment_regex']) {
    if (raw[k] !== undefined) throw new SealboxError('INPUT', `${source} uses sops' ${k}, which sealbox does not read; re-encrypt it with sops without it (encrypted_regex: ^(data|stringData)$) and convert again`);
  }
}

function rulesOf(raw: JsonObject, source: string): SopsRules {
  const opt = (k: string): string | undefined => (raw[k] === undefined || raw[k] === '' ? undefined : text(raw[k], source, k));
  const regex = (k: string): RegExp | undefined => {
    const r = opt(k);
    if (r === undefined) return undefined;
    try {
      return new RegExp(r);
    } catch {
      throw bad(source, `${k} ${quote(r)} is not a regular expression sealbox can read`);
    }
  };
  const rules: SopsRules = {
    ...(opt('unencrypted_suffix') === undefined ? {} : { unencryptedSuffix: opt('unencrypted_suffix') }),
    ...(opt('encrypted_suffix') === undefined ? {} : { encryptedSuffix: opt('encrypted_suffix') }),
    ...(opt('unencrypted_regex') === undefined ? {} : { unencryptedRegex: regex('unencrypted_regex') }),
    ...(opt('encrypted_regex') === undefined ? {} : { encryptedRegex: regex('encrypted_regex') }),
  };
  const count = Object.keys(rules).length;
  if (count > 1) throw bad(source, 'it sets more than one encryption rule, which sops refuses');
  return count === 0 ? { unencryptedSuffix: '_unencrypted' } : rules;
}

function awsKey(k: unknown, what: string): SopsAwsKey {
  if (!isObject(k)) throw new SealboxError('INPUT', `${what} is not a mapping`);
  const context: Record<string, string> = {};
  if (k.context !== undefined && k.context !== null) {
    if (!isObject(k.context)) throw new SealboxError('INPUT', `${what}.context is not a mapping`);
    for (const [key, v] of Object.entries(k.context)) context[key] = typeof v === 'string' ? v : String(v);
  }
  const role = typeof k.role === 'string' && k.role !== '' ? k.role : undefined;
  const profile = typeof k.aws_profile === 'string' && k.aws_profile !== '' ? k.aws_profile : undefined;
  return {
    arn: text(k.arn, what, 'arn'), context,
    ...(role === undefined ? {} : { role }),
    ...(profile === undefined ? {} : { awsProfile: profile }),
    encrypted: decode(text(k.enc, what, 'enc'), 'base64', what),
  };
}

function azureKey(k: unknown, what: string): SopsAzureKey {
  if (!isObject(k)) throw new SealboxError('INPUT', `${what} is not a mapping`);
  return {
    vaultUrl: text(k.vault_url, what, 'vault_url').replace(/\/+$/, ''),
    name: text(k.name, what, 'name'),
    version: text(k.version, what, 'version'),
    encrypted: decode(text(k.enc, what, 'enc'), 'base64url', what),
  };
}

function decode(s: string, encoding: 'base64' | 'base64url', what: string): Uint8Array {
  const ok = encoding === 'base64' ? /^[A-Za-z0-9+/]+={0,2}$/ : /^[A-Za-z0-9_-]+$/;
  if (!ok.test(s)) throw new SealboxError('INPUT', `${what}.enc is not ${encoding}`);
  return new Uint8Array(Buffer.from(s, encoding));
}

/** Go's time.Parse(RFC3339) then Format(RFC3339): no fraction, "Z" for a zero offset. */
function goRfc3339(s: string, source: string): string {
  const m = RFC3339.exec(s);
  if (m === null) throw bad(source, `lastmodified ${quote(s)} is not an RFC 3339 time`);
  const zone = m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : (m[3] ?? 'Z');
  return `${m[1] ?? ''}${zone}`;
}

function list(v: unknown, source: string, key: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(source, `sops.${key} is not a list`);
  return v;
}

function text(v: unknown, where: string, key: string): string {
  if (typeof v !== 'string' || v === '') throw new SealboxError('INPUT', `${where}: sops metadata "${key}" is missing or not text`);
  return v;
}

function bad(source: string, problem: string): SealboxError {
  return new SealboxError('INPUT', `${source}: sops metadata: ${problem}`);
}
