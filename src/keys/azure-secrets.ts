/**
 * Key backups in Azure Key Vault secrets (`sealbox keys backup
 * --to-azure-secret`, `keys restore --from-azure-secret`). A backup larger
 * than one secret may hold (25 KiB) is stored in parts `NAME-part-N`, and
 * `NAME` then holds the list of the parts' exact versions and a SHA-256 of
 * the whole, so a restore reads one consistent backup.
 *
 * The SDK is loaded on first use.
 */
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { SecretClient } from '@azure/keyvault-secrets';
import { SealboxError } from '../errors.js';
import { AZURE_KV_SERVICE_VERSION } from './azure-kv.js';
import type { AzureCredential } from './azure-kv.js';
import { chunkText } from './backup.js';
import { serviceFailureOf, failureText, safeCause } from './kms-common.js';

/** Content type of a secret holding a whole backup. */
export const BACKUP_CONTENT_TYPE = 'application/vnd.sealbox.key-backup+yaml';
/** Content type of a secret listing the parts of a backup. */
export const PARTS_CONTENT_TYPE = 'application/vnd.sealbox.key-backup-parts+json';
/** Content type of one part. */
export const PART_CONTENT_TYPE = 'application/vnd.sealbox.key-backup-part';

const NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z-]{1,64}$/;

/** A Key Vault secret id split into its parts. */
export interface AzureSecretId {
  readonly vaultUrl: string;
  readonly name: string;
  readonly version: string | undefined;
}

/** Returns the parts of `https://VAULT/secrets/NAME[/VERSION]`. Throws SealboxError('INPUT') for anything else. */
export function parseAzureSecretId(id: string): AzureSecretId {
  const bad = (): SealboxError => new SealboxError('INPUT', `invalid azure key vault secret "${id.slice(0, 200)}": use https://VAULT/secrets/NAME[/VERSION]`);
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    throw bad();
  }
  const [kind, name, version, ...rest] = url.pathname.replace(/\/$/, '').split('/').slice(1);
  if (url.protocol !== 'https:' || url.search !== '' || url.hash !== '' || kind !== 'secrets' || name === undefined || !NAME.test(name) || rest.length > 0) throw bad();
  if (version !== undefined && !VERSION.test(version)) throw bad();
  return { vaultUrl: url.origin, name, version };
}

/** Options of the Key Vault secret client. */
export interface AzureSecretOptions {
  /** Default DefaultAzureCredential. */
  readonly credential?: AzureCredential;
  /** Extra CA certificate(s) (PEM) to trust, e.g. a vault emulator's. */
  readonly caPem?: string;
  /** Skip the challenge's Key Vault domain check (vault emulators on 127.0.0.1 only). */
  readonly disableChallengeResourceVerification?: boolean;
}

async function client(vaultUrl: string, o: AzureSecretOptions): Promise<SecretClient> {
  const { SecretClient: Client } = await import('@azure/keyvault-secrets');
  const credential = o.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  return new Client(vaultUrl, credential, {
    serviceVersion: AZURE_KV_SERVICE_VERSION,
    ...(o.disableChallengeResourceVerification === true ? { disableChallengeResourceVerification: true } : {}),
    ...(o.caPem === undefined ? {} : { tlsOptions: { ca: [...rootCertificates, o.caPem] } }),
  });
}

async function call<T>(op: string, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const f = serviceFailureOf(err);
    const hint = f.status === 404 ? 'check the vault URL and the secret name'
      : f.status === 401 || f.status === 403 ? `check the Azure identity and that it may ${op === 'set' ? 'set' : 'get'} secrets in this vault`
        : 'the vault is unreachable or failing; check the vault URL, its TLS certificate and the network, then retry';
    throw new SealboxError('PROVIDER', `azure key vault secret "${id}": ${op} failed: ${failureText(f, 15_000)}; ${hint}`, { cause: safeCause(f) });
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Stores `text` as the secret `id` (without version), in parts when it is
 * large. Returns the id of the version written. Throws SealboxError('PROVIDER').
 */
export async function writeAzureSecretBackup(id: string, text: string, o: AzureSecretOptions = {}): Promise<string> {
  const ref = parseAzureSecretId(id);
  if (ref.version !== undefined) throw new SealboxError('INPUT', `${id}: name the secret without a version; each backup is a new version`);
  const c = await client(ref.vaultUrl, o);
  const chunks = chunkText(text);
  if (chunks.length === 1) {
    const s = await call('set', id, () => c.setSecret(ref.name, text, { contentType: BACKUP_CONTENT_TYPE }));
    return s.properties.id ?? id;
  }
  const parts: string[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const partName = `${ref.name}-part-${String(i + 1)}`;
    const s = await call('set', `${ref.vaultUrl}/secrets/${partName}`, () => c.setSecret(partName, chunk, { contentType: PART_CONTENT_TYPE }));
    parts.push(s.properties.id ?? '');
  }
  const index = JSON.stringify({ parts, sha256: sha256(text) });
  const s = await call('set', id, () => c.setSecret(ref.name, index, { contentType: PARTS_CONTENT_TYPE }));
  return s.properties.id ?? id;
}

/**
 * Reads a backup stored by writeAzureSecretBackup (the newest version unless
 * `id` names one). Throws SealboxError('PROVIDER') when the vault fails,
 * ('INPUT') when the secret is not a sealbox backup or its parts do not add up.
 */
export async function readAzureSecretBackup(id: string, o: AzureSecretOptions = {}): Promise<string> {
  const ref = parseAzureSecretId(id);
  const c = await client(ref.vaultUrl, o);
  const s = await call('get', id, () => c.getSecret(ref.name, ref.version === undefined ? {} : { version: ref.version }));
  const value = s.value ?? '';
  if (s.properties.contentType === BACKUP_CONTENT_TYPE) return value;
  if (s.properties.contentType !== PARTS_CONTENT_TYPE) {
    throw new SealboxError('INPUT', `azure key vault secret "${id}" is not a sealbox key backup (content type "${s.properties.contentType ?? ''}")`);
  }
  let index: { parts?: unknown; sha256?: unknown };
  try {
    index = JSON.parse(value) as { parts?: unknown; sha256?: unknown };
  } catch {
    throw new SealboxError('INPUT', `azure key vault secret "${id}": its list of parts is not JSON`);
  }
  if (!Array.isArray(index.parts) || typeof index.sha256 !== 'string') throw new SealboxError('INPUT', `azure key vault secret "${id}": malformed list of parts`);
  let text = '';
  for (const partId of index.parts) {
    const part = parseAzureSecretId(String(partId));
    if (part.vaultUrl !== ref.vaultUrl) throw new SealboxError('INPUT', `azure key vault secret "${id}": a part lives in another vault`);
    const p = await call('get', String(partId), () => c.getSecret(part.name, part.version === undefined ? {} : { version: part.version }));
    text += p.value ?? '';
  }
  if (sha256(text) !== index.sha256) throw new SealboxError('INPUT', `azure key vault secret "${id}": its parts do not add up to the backup that was written (checksum mismatch)`);
  return text;
}
