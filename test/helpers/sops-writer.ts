/**
 * A sops v3 YAML writer for tests, following getsops/sops v3.13.3
 * (aes/cipher.go Encrypt, sops.go Tree.Encrypt, cmd/sops/common EncryptTree):
 * 32-byte IVs, the value's path + ":" as additional data, the MAC (SHA-512
 * over the leaves, upper-case hex) encrypted with `lastmodified` as additional
 * data. For paths the real sops cannot reach here (Azure Key Vault on a
 * loopback address: see test/kms/convert-sops.test.ts); the AWS tests use
 * the real sops. Only string, number and boolean leaves, no comments.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

/** Which values to encrypt: sops' default (all but *_unencrypted) or an encrypted_regex. */
export interface SopsWriteOptions {
  readonly dataKey: Uint8Array;
  readonly encryptedRegex?: string;
  /** The `sops:` key entries (azure_kv, kms, age, …), with their `enc` already made. */
  readonly keys: Record<string, unknown>;
  readonly lastModified?: string;
}

/** Returns the sops-encrypted YAML of `docs` (plain Kubernetes objects). */
export function writeSopsYaml(docs: readonly Record<string, unknown>[], o: SopsWriteOptions): string {
  const hash = createHash('sha512');
  const regex = o.encryptedRegex === undefined ? undefined : new RegExp(o.encryptedRegex);
  const encrypted = (path: readonly string[]): boolean => (regex === undefined ? !path.some((p) => p.endsWith('_unencrypted')) : path.some((p) => regex.test(p)));
  const walk = (v: unknown, path: readonly string[]): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, path));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    if (v === null) return null;
    const [text, type] = typeof v === 'boolean' ? [v ? 'True' : 'False', 'bool'] : typeof v === 'number' ? [String(v), Number.isInteger(v) ? 'int' : 'float'] : [typeof v === 'string' ? v : JSON.stringify(v), 'str'];
    hash.update(text, 'utf8');
    return encrypted(path) ? encryptValue(text, type, o.dataKey, `${path.join(':')}:`) : v;
  };
  const out = docs.map((d) => walk(d, []) as Record<string, unknown>);
  const lastModified = o.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const mac = encryptValue(hash.digest('hex').toUpperCase(), 'str', o.dataKey, lastModified);
  const sops = {
    ...o.keys, lastmodified: lastModified, mac,
    ...(o.encryptedRegex === undefined ? { unencrypted_suffix: '_unencrypted' } : { encrypted_regex: o.encryptedRegex }),
    version: '3.13.3',
  };
  return out.map((d) => stringify({ ...d, sops })).join('---\n');
}

/** One value as sops writes it: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`; "" stays "". */
export function encryptValue(text: string, type: string, dataKey: Uint8Array, additionalData: string): string {
  if (text === '') return '';
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
  c.setAAD(Buffer.from(additionalData, 'utf8'));
  const data = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
}
