import type { KeyWrapper } from '../crypto/types.js';
import { isDataKey } from '../crypto/binding.js';
import { SealboxError } from '../errors.js';
import { parseSealedDocument } from './documents.js';
import { applySealedChanges } from './edit.js';
import { mergeIntoSealed } from './seal.js';
import { isSealedManifest, sealedManifest } from './sealed.js';
import type { SealedSecret } from './sealed.js';
import type { SecretData } from './secret.js';
import type { SourceDocument } from './yaml.js';
import { parseDocuments, stringifyDocument } from './yaml.js';

/** Options of mergeSecretsInto. */
export interface MergeOptions {
  readonly wrappers: readonly KeyWrapper[];
  readonly namespace?: string;
}

interface Target {
  readonly doc: SourceDocument;
  readonly sealed: SealedSecret;
}

function findTarget(targets: readonly Target[], secret: SecretData, source: string, namespace: string | undefined): Target {
  const ns = secret.namespace !== '' ? secret.namespace : namespace;
  const matches = targets.filter((t) => (secret.name === '' || t.sealed.name === secret.name) && (ns === undefined || t.sealed.namespace === ns));
  const [first] = matches;
  if (matches.length === 1 && first !== undefined) return first;
  const who = secret.name === '' ? 'the secret' : `secret "${secret.name}"`;
  if (matches.length === 0) {
    throw new SealboxError('INPUT', `${source} has no sealed secret matching ${who}; seal it into a new file instead of --merge-into`);
  }
  throw new SealboxError('INPUT', `${source} has several sealed secrets matching ${who}; pass --name and --namespace`);
}

/**
 * Adds or replaces the values of `secrets` in the sealed file `text`, with
 * encrypt rights only. Returns the new file content: YAML is edited node by
 * node so every other line stays byte-identical; JSON is re-serialised.
 * Throws SealboxError('INPUT') when a secret has no single matching sealed
 * resource, or the file is malformed; wrapper errors propagate.
 */
export async function mergeSecretsInto(text: string, source: string, secrets: readonly SecretData[], opts: MergeOptions): Promise<string> {
  const docs = parseDocuments(text, source);
  const targets: Target[] = docs
    .filter((d) => isSealedManifest(d.value))
    .map((d) => ({ doc: d, sealed: parseSealedDocument(d.value, source, d.index).sealed }));
  const updated = new Map<SourceDocument, SealedSecret>();
  for (const secret of secrets) {
    for (const key of secret.data.keys()) {
      if (!isDataKey(key)) throw new SealboxError('INPUT', `"${key.slice(0, 64)}" is not a valid Secret key (letters, digits, "-", "_", ".")`);
    }
    const target = findTarget(targets, secret, source, opts.namespace);
    const current = updated.get(target.doc) ?? target.sealed;
    updated.set(target.doc, await mergeIntoSealed(current, secret.data, { wrappers: opts.wrappers }));
  }
  if (text.trimStart().startsWith('{') || text.trimStart().startsWith('[')) {
    const values = docs.map((d) => {
      const next = updated.get(d);
      return next === undefined ? d.value : { ...(d.value as object), ...sealedManifest(next) };
    });
    return `${JSON.stringify(values.length === 1 ? values[0] : { apiVersion: 'v1', kind: 'List', items: values }, null, 2)}\n`;
  }
  for (const t of targets) {
    const next = updated.get(t.doc);
    if (next !== undefined) applySealedChanges(t.doc.doc, t.sealed, next);
  }
  return docs.map((d) => stringifyDocument(d.doc)).join('');
}
