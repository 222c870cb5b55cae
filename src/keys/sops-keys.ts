/**
 * Recovers a sops file's data key with the user's own cloud rights, as
 * `sops decrypt` does: AWS KMS Decrypt with the entry's encryption context,
 * or Azure Key Vault decrypt (RSA-OAEP-256) of the entry's key version. The
 * entries are tried in the file's order; the first that answers wins. The
 * SDKs are loaded on first use.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { SealboxError } from '../errors.js';
import type { SopsAwsKey, SopsAzureKey, SopsMetadata } from '../format/sops.js';
import type { AzureKvSpecOptions } from './azure-kv.js';
import { AZURE_KV_SERVICE_VERSION, parseAzureKeyId } from './azure-kv.js';
import type { AwsKmsSpecOptions } from './aws-kms.js';
import { parseAwsKeyId } from './aws-kms.js';
import { DEFAULT_KMS_TIMEOUT_MS, failureText, safeCause, serviceFailureOf } from './kms-common.js';

/** Options of {@link sopsDataKey}: the providers' settings, as for `--kms` keys. */
export interface SopsKeyOptions {
  readonly aws?: AwsKmsSpecOptions;
  readonly azure?: AzureKvSpecOptions;
}

/** The sealbox recipient spec of each key that can open the file (`aws:ARN`, `azure:URL/keys/NAME/VERSION`). */
export function sopsRecipientSpecs(meta: SopsMetadata): string[] {
  return [...meta.kms.map((k) => `aws:${k.arn}`), ...meta.azureKv.map((k) => `azure:${azureKeyId(k)}`)];
}

/**
 * Returns the 32-byte data key of a sops file, asking each of its AWS KMS
 * and Azure Key Vault keys in turn. Throws SealboxError('PROVIDER') naming
 * every key's reason when none could decrypt it, SealboxError('TAMPERED')
 * when a key answered with something that is not a data key.
 */
export async function sopsDataKey(meta: SopsMetadata, source: string, options: SopsKeyOptions = {}): Promise<Uint8Array> {
  const reasons: string[] = [];
  for (const k of meta.kms) {
    try {
      return checkLength(await awsDecrypt(k, options.aws), `aws kms key "${k.arn}"`, source);
    } catch (err) {
      if (err instanceof SealboxError && err.code === 'TAMPERED') throw err;
      reasons.push(reasonOf(err, `aws kms key "${k.arn}"`));
    }
  }
  for (const k of meta.azureKv) {
    try {
      return checkLength(await azureDecrypt(k, options.azure), `azure key vault key "${azureKeyId(k)}"`, source);
    } catch (err) {
      if (err instanceof SealboxError && err.code === 'TAMPERED') throw err;
      reasons.push(reasonOf(err, `azure key vault key "${azureKeyId(k)}"`));
    }
  }
  throw new SealboxError('PROVIDER', `${source}: no key of the file could decrypt its data key (${reasons.join('; ')}); check your cloud credentials and that you may decrypt with one of these keys`);
}

function checkLength(key: Uint8Array, who: string, source: string): Uint8Array {
  if (key.length !== 32) throw new SealboxError('TAMPERED', `${source}: ${who} returned ${String(key.length)} bytes, not a 32-byte sops data key: the file's "enc" was altered`);
  return key;
}

function reasonOf(err: unknown, who: string): string {
  if (err instanceof SealboxError) return err.message;
  return `${who}: ${failureText(serviceFailureOf(err), DEFAULT_KMS_TIMEOUT_MS)}`;
}

function azureKeyId(k: SopsAzureKey): string {
  return `${k.vaultUrl}/keys/${k.name}/${k.version}`;
}

async function awsDecrypt(k: SopsAwsKey, options: AwsKmsSpecOptions = {}): Promise<Uint8Array> {
  const { region } = parseAwsKeyId(k.arn);
  if (k.role !== undefined) {
    throw new SealboxError('INPUT', `aws kms key "${k.arn}": sops assumes the role "${k.role}" for it, which convert does not do; run convert with credentials of that role (e.g. AWS_PROFILE)`);
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sdk = await import('@aws-sdk/client-kms');
  const client: KMSClient = new sdk.KMSClient({
    ...(region === undefined ? {} : { region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(k.awsProfile === undefined ? {} : { profile: k.awsProfile }),
  });
  try {
    const input = { KeyId: k.arn, CiphertextBlob: k.encrypted, ...(Object.keys(k.context).length === 0 ? {} : { EncryptionContext: { ...k.context } }) };
    const out = await client.send(new sdk.DecryptCommand(input), { abortSignal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_KMS_TIMEOUT_MS) });
    if (out.Plaintext === undefined) throw new SealboxError('PROVIDER', `aws kms key "${k.arn}": decrypt returned no plaintext; check the KMS endpoint`);
    return out.Plaintext;
  } catch (err) {
    if (err instanceof SealboxError) throw err;
    const f = serviceFailureOf(err);
    throw new SealboxError('PROVIDER', `aws kms key "${k.arn}": decrypt failed: ${failureText(f, options.timeoutMs ?? DEFAULT_KMS_TIMEOUT_MS)}`, { cause: safeCause(f) });
  } finally {
    client.destroy();
  }
}

async function azureDecrypt(k: SopsAzureKey, options: AzureKvSpecOptions = {}): Promise<Uint8Array> {
  parseAzureKeyId(azureKeyId(k));
  const [{ KeyClient }, { rootCertificates }] = await Promise.all([import('@azure/keyvault-keys'), import('node:tls')]);
  const credential = options.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  const client = new KeyClient(k.vaultUrl, credential, {
    ...options.clientOptions,
    serviceVersion: options.serviceVersion ?? AZURE_KV_SERVICE_VERSION,
    ...(options.disableChallengeResourceVerification ? { disableChallengeResourceVerification: true } : {}),
    ...(options.caPem === undefined ? {} : { tlsOptions: { ca: [...rootCertificates, options.caPem] } }),
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_KMS_TIMEOUT_MS;
  try {
    const crypto = client.getCryptographyClient(k.name, { keyVersion: k.version });
    const out = await crypto.decrypt({ algorithm: 'RSA-OAEP-256', ciphertext: k.encrypted }, { abortSignal: AbortSignal.timeout(timeoutMs) });
    return out.result;
  } catch (err) {
    const f = serviceFailureOf(err);
    throw new SealboxError('PROVIDER', `azure key vault key "${azureKeyId(k)}": decrypt failed: ${failureText(f, timeoutMs)}`, { cause: safeCause(f) });
  }
}
