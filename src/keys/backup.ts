/**
 * The backup of a controller's sealing keys (`sealbox keys backup/restore`):
 * a v1 List of the key Secrets without namespace or cluster-assigned fields,
 * so it can be restored into any namespace of any cluster (also with
 * `kubectl apply -n NS -f`). Each key keeps its original creation time in an
 * annotation, so a restored controller still knows which key is newest and
 * when the next rotation is due.
 */
import { stringify } from 'yaml';
import { SealboxError } from '../errors.js';
import { isObject } from '../format/object.js';
import { expandLists } from '../format/secret.js';
import { parseDocuments } from '../format/yaml.js';
import { CREATED_AT_ANNOTATION, FINGERPRINT_ANNOTATION, SEALING_KEY_LABEL, parseKeySecret } from './key-secret.js';

/** Marks a backup document and its format version. */
export const BACKUP_ANNOTATION = 'sealbox.dev/key-backup';

/** A key Secret as the backup needs it (a subset of a Kubernetes Secret). */
export interface KeySecret {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly type: string;
  /** base64 values, as in a Secret's `data`: `tls.crt`, `tls.key`. */
  readonly data: Readonly<Record<string, string>>;
  /** When the Secret was created (used when it has no created-at annotation). */
  readonly creationTimestamp?: Date | string;
}

/** A validated key from a backup. */
export interface BackedUpKey {
  readonly secret: KeySecret;
  readonly fingerprint: string;
  readonly createdAt: string;
}

/**
 * Checks that a key Secret holds a matching certificate and RSA private key
 * (parseKeySecret) and that its fingerprint annotation, if any, is the key's:
 * a backup is a file anyone may have edited. Returns the fingerprint. Throws
 * SealboxError('INPUT') naming `what`, never the key.
 */
export function checkKeySecret(s: KeySecret, what: string): string {
  const { fingerprint } = parseKeySecret(s, what);
  const stated = s.annotations[FINGERPRINT_ANNOTATION];
  if (stated !== undefined && stated !== fingerprint) throw new SealboxError('INPUT', `${what}: key secret "${s.name}": its fingerprint annotation does not match its key`);
  return fingerprint;
}

/**
 * Returns the backup text of the key Secrets of `namespace`, oldest first.
 * Throws SealboxError('INPUT') when there is no key or a key is unusable.
 */
export function buildBackup(secrets: readonly KeySecret[], namespace: string, now: Date = new Date()): string {
  if (secrets.length === 0) throw new SealboxError('INPUT', `no sealing keys in namespace "${namespace}" (Secrets labelled ${SEALING_KEY_LABEL}=true); is the controller installed there?`);
  const items = secrets.map((s) => {
    const fingerprint = checkKeySecret(s, `namespace "${namespace}"`);
    const createdAt = s.annotations[CREATED_AT_ANNOTATION] ?? toIso(s.creationTimestamp) ?? now.toISOString();
    return { createdAt, manifest: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: s.name,
        labels: { ...s.labels, [SEALING_KEY_LABEL]: 'true' },
        annotations: { ...s.annotations, [FINGERPRINT_ANNOTATION]: fingerprint, [CREATED_AT_ANNOTATION]: createdAt },
      },
      type: s.type,
      data: { 'tls.crt': s.data['tls.crt'], 'tls.key': s.data['tls.key'] },
    } };
  }).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const list = {
    apiVersion: 'v1',
    kind: 'List',
    metadata: { annotations: { [BACKUP_ANNOTATION]: 'v1', 'sealbox.dev/backup-of': namespace, 'sealbox.dev/backup-created': now.toISOString() } },
    items: items.map((i) => i.manifest),
  };
  return `# sealbox sealing-key backup: PRIVATE KEYS that unseal every secret sealed for these keys.\n# Keep it like a password; restore with "sealbox keys restore".\n${stringify(list, { lineWidth: 0, minContentWidth: 0 })}`;
}

/**
 * Parses and checks a backup. Returns its keys, oldest first. Throws
 * SealboxError('INPUT') naming `source` for anything that is not a backup
 * of usable sealing keys; nothing is returned half-checked.
 */
export function parseBackup(text: string, source: string): BackedUpKey[] {
  const items = parseDocuments(text, source).flatMap((d) => expandLists([d.value]));
  if (items.length === 0) throw new SealboxError('INPUT', `${source}: no sealing keys in it`);
  const keys = items.map((v, i) => {
    const what = `${source} item ${i + 1}`;
    if (!isObject(v) || v.apiVersion !== 'v1' || v.kind !== 'Secret' || !isObject(v.metadata) || !isObject(v.data)) {
      throw new SealboxError('INPUT', `${what} is not a v1 Secret; is ${source} a sealbox key backup?`);
    }
    const meta = v.metadata;
    const strings = (o: unknown): Record<string, string> =>
      isObject(o) ? Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
    const labels = strings(meta.labels);
    if (typeof meta.name !== 'string' || labels[SEALING_KEY_LABEL] !== 'true') {
      throw new SealboxError('INPUT', `${what} is not a sealing key (no name, or no label ${SEALING_KEY_LABEL}=true)`);
    }
    const secret: KeySecret = { name: meta.name, labels, annotations: strings(meta.annotations), type: typeof v.type === 'string' ? v.type : 'kubernetes.io/tls', data: strings(v.data) };
    const fingerprint = checkKeySecret(secret, source);
    return { secret, fingerprint, createdAt: secret.annotations[CREATED_AT_ANNOTATION] ?? '' };
  });
  return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function toIso(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Most characters of one Key Vault secret value sealbox writes (Key Vault's limit is 25 KiB). */
export const AZURE_SECRET_CHUNK = 20_000;

/** Splits a backup into Key Vault secret-sized parts. */
export function chunkText(text: string, size: number = AZURE_SECRET_CHUNK): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length === 0 ? [''] : out;
}
