/**
 * `sealbox convert` for Sealed Secrets files: each `bitnami.com/v1alpha1`
 * SealedSecret document is sent to the controller's `/v1/convert`, which
 * answers the sealbox SealedSecret (ciphertext only); the answer is checked
 * against the original (names, scope, template, value names) and spliced in
 * place of the document, every other byte of the file kept.
 */
import { SealboxError, isSealboxError } from '../src/errors.js';
import { isBitnamiManifest, keptMetadata, scopeOfBitnami } from '../src/format/convert.js';
import { parseBitnamiSealed } from '../src/format/bitnami.js';
import type { SealedSecret } from '../src/format/sealed.js';
import { parseSealedSecret } from '../src/format/sealed.js';
import type { TextEdit } from '../src/format/splice.js';
import { applyTextEdits } from '../src/format/splice.js';
import { parseDocuments, stringifyDocuments } from '../src/format/yaml.js';
import type { SourceDocument } from '../src/format/yaml.js';
import { parseRefusal, postToController } from './cluster.js';
import type { ClusterFlags } from './cluster.js';

/** True when `text` may hold a Sealed Secrets SealedSecret (a cheap test before parsing). */
export function mentionsBitnami(text: string): boolean {
  return text.includes('bitnami.com/v1alpha1');
}

/** The documents of `text` that are Sealed Secrets SealedSecrets. */
export function bitnamiDocuments(text: string, file: string): SourceDocument[] {
  return mentionsBitnami(text) ? parseDocuments(text, file).filter((d) => isBitnamiManifest(d.value)) : [];
}

/** Asks the controller to convert one SealedSecret; returns its answer's text. Throws SealboxError. */
async function requestConvert(flags: ClusterFlags, manifest: unknown, what: string): Promise<string> {
  const { status, body } = await postToController(flags, '/v1/convert', JSON.stringify(manifest));
  if (status === 200) return body;
  if (status === 422) {
    const parsed = parseRefusal(body);
    throw new SealboxError(parsed.code, `${what}: the controller cannot convert it: ${parsed.error}`);
  }
  const reason = (body.split('\n')[0] ?? '').replace(/^error: /, '').replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
  throw new SealboxError('PROVIDER', `${what}: the controller refused to convert it (HTTP ${String(status)}): ${reason}; a controller older than sealbox convert answers 404`);
}

const sameMap = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * Parses the controller's answer and checks it is the conversion of
 * `original`: same name, namespace, mapped scope, template, labels and the
 * value names of encryptedData and template.data. Throws
 * SealboxError('PROVIDER') for an answer that is not a sealed resource,
 * ('TAMPERED') for one that differs.
 */
export function checkConvertAnswer(original: unknown, body: string, what: string): SealedSecret {
  let after: SealedSecret;
  try {
    after = parseSealedSecret(JSON.parse(body), `the controller's answer for ${what}`);
  } catch (err) {
    throw new SealboxError('PROVIDER', `${what}: the controller's answer is not a sealbox SealedSecret; nothing written. Check --controller-url and the controller's version`, { cause: err });
  }
  const b = parseBitnamiSealed(original, what);
  const names = [...new Set([...Object.keys(b.encryptedData), ...Object.keys(b.template.data)])].sort();
  const kept = keptMetadata(original);
  const t = after.template;
  const same = after.name === b.name && after.namespace === b.namespace && after.scope === scopeOfBitnami(b.scope) &&
    JSON.stringify([...after.encryptedData.keys()].sort()) === JSON.stringify(names) &&
    t.type === (b.template.type ?? 'Opaque') && t.immutable === b.template.immutable &&
    sameMap(t.labels, b.template.labels ?? {}) && sameMap(t.annotations, b.template.annotations ?? {}) &&
    sameMap(after.labels, kept.labels) && sameMap(after.annotations, kept.annotations);
  if (!same) throw new SealboxError('TAMPERED', `${what}: the controller's answer changes its name, namespace, scope, template, labels or value names; nothing written. Check which controller answered`);
  return after;
}

/** The edit that puts `answer` (JSON text) in place of document `d`, as YAML. */
function replacement(text: string, d: SourceDocument, answer: string): TextEdit {
  const range = d.doc.contents?.range;
  if (range === undefined) throw new SealboxError('INTERNAL', 'a SealedSecret document without contents; this is a bug, please report it');
  const yaml = stringifyDocuments([JSON.parse(answer)], 'yaml');
  // The document's content ends at its last line break, or at the end of a file without one.
  const end = range[2] < text.length ? range[2] : text.length;
  return { start: range[0], end, text: text.slice(range[0], end).endsWith('\n') || end === text.length ? yaml : yaml.trimEnd() };
}

/**
 * Converts every SealedSecret of one file through the controller. Returns
 * the new text and the number converted (0: the text is unchanged).
 * Throws SealboxError naming the file and document.
 */
export async function convertText(text: string, file: string, flags: ClusterFlags): Promise<{ text: string; converted: number }> {
  const docs = bitnamiDocuments(text, file);
  const edits: TextEdit[] = [];
  for (const d of docs) {
    const what = `${file} document ${String(d.index)}`;
    try {
      const answer = await requestConvert(flags, d.value, what);
      checkConvertAnswer(d.value, answer, what);
      edits.push(replacement(text, d, answer));
    } catch (err) {
      if (isSealboxError(err) && !err.message.startsWith(what)) throw new SealboxError(err.code, `${what}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  return { text: applyTextEdits(text, edits), converted: edits.length };
}
