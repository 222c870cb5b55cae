/**
 * Importing Sealed Secrets' keys (`sealbox keys import --from-sealed-secrets`):
 * the Secrets labelled `sealedsecrets.bitnami.com/sealed-secrets-key` (PEM
 * `tls.crt` and `tls.key`), from a cluster or a `kubectl get secret -o yaml`
 * backup, become sealbox key Secrets that keep their creation time and only
 * unseal, unless the import asks for sealing with them too.
 */
import { SealboxError } from '../errors.js';
import { SEALED_SECRETS_KEY_LABEL } from '../format/bitnami.js';
import { isObject } from '../format/object.js';
import { expandLists } from '../format/secret.js';
import { parseDocuments } from '../format/yaml.js';
import { CREATED_AT_ANNOTATION, FINGERPRINT_ANNOTATION, IMPORTED_ANNOTATION, SEAL_WITH_ANNOTATION, SEALING_KEY_LABEL, parseKeySecret } from './key-secret.js';

export { SEALED_SECRETS_KEY_LABEL } from '../format/bitnami.js';
/** The namespace Sealed Secrets' controller runs in by default. */
export const SEALED_SECRETS_NAMESPACE = 'kube-system';

/** A Sealed Secrets key Secret, as read from the cluster or a file. */
export interface ForeignKeySecret {
  readonly namespace: string;
  readonly name: string;
  readonly creationTimestamp: string | undefined;
  /** base64 values: `tls.crt`, `tls.key`. */
  readonly data: Readonly<Record<string, string>>;
}

/** A key ready to import. */
export interface ImportedKey {
  readonly fingerprint: string;
  /** The sealbox key Secret to create (no namespace). */
  readonly secret: { metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> }; type: string; data: Record<string, string> };
}

function str(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : undefined;
}

/** Reads the Sealed Secrets key Secrets of a backup file (a List or several documents); others are skipped. */
export function keySecretsFromFile(text: string, source: string): ForeignKeySecret[] {
  const items = parseDocuments(text, source).flatMap((d) => expandLists([d.value]));
  const out: ForeignKeySecret[] = [];
  for (const v of items) {
    if (!isObject(v) || v.kind !== 'Secret' || !isObject(v.metadata) || !isObject(v.data)) continue;
    const labels = isObject(v.metadata.labels) ? v.metadata.labels : {};
    if (labels[SEALED_SECRETS_KEY_LABEL] === undefined) continue;
    const data = Object.fromEntries(Object.entries(v.data).filter((e): e is [string, string] => typeof e[1] === 'string'));
    out.push({ namespace: str(v.metadata.namespace) ?? '', name: str(v.metadata.name) ?? '', creationTimestamp: str(v.metadata.creationTimestamp), data });
  }
  if (out.length === 0) throw new SealboxError('INPUT', `${source}: no Sealed Secrets key in it (Secrets labelled ${SEALED_SECRETS_KEY_LABEL}); export them with: kubectl get secret -n kube-system -l ${SEALED_SECRETS_KEY_LABEL} -o yaml`);
  return out;
}

/**
 * Turns Sealed Secrets key Secrets into sealbox key Secrets, checking each
 * certificate against its key. `sealWithSince` (the import time) marks them
 * as keys new seals may use; without it they only unseal. Throws
 * SealboxError('INPUT') naming the Secret, never the key.
 */
export function importKeys(secrets: readonly ForeignKeySecret[], now: Date, sealWithSince?: Date): ImportedKey[] {
  return secrets.map((s) => {
    const what = `sealed secrets key "${s.namespace === '' ? '' : `${s.namespace}/`}${s.name}"`;
    const { fingerprint } = parseKeySecret({ name: s.name, data: s.data }, what);
    const created = s.creationTimestamp !== undefined && !Number.isNaN(Date.parse(s.creationTimestamp)) ? new Date(s.creationTimestamp) : now;
    const annotations: Record<string, string> = {
      [FINGERPRINT_ANNOTATION]: fingerprint,
      [CREATED_AT_ANNOTATION]: created.toISOString(),
      [IMPORTED_ANNOTATION]: `sealed-secrets/${s.namespace}/${s.name}`,
      ...(sealWithSince === undefined ? {} : { [SEAL_WITH_ANNOTATION]: sealWithSince.toISOString() }),
    };
    return {
      fingerprint,
      secret: {
        metadata: { name: `sealbox-imported-${fingerprint.slice(0, 12)}`, labels: { [SEALING_KEY_LABEL]: 'true' }, annotations },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': s.data['tls.crt'] ?? '', 'tls.key': s.data['tls.key'] ?? '' },
      },
    };
  });
}
