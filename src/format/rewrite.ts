/**
 * Rewrites the sealed resources of one file through a function, keeping
 * everything else as it was: YAML is spliced so untouched bytes stay
 * byte-identical (editSealedFile); JSON (a resource or a v1 List) is
 * re-serialised, as `seal --format json` writes it.
 */
import { editSealedFile } from './edit.js';
import type { SealedChange } from './edit.js';
import { parseSealedDocument } from './documents.js';
import type { SealedSecret } from './sealed.js';
import { isSealedManifest, sealedManifest } from './sealed.js';
import { mapListItems } from './lists.js';
import { expandLists } from './secret.js';
import { parseDocuments } from './yaml.js';

/** Returns the new resource, or the same object when nothing changes. */
export type SealedUpdate = (sealed: SealedSecret, what: string) => Promise<SealedSecret>;

/** The result of rewriteSealedText. */
export interface RewriteResult {
  /** The new file text; the input itself when nothing changed. */
  readonly text: string;
  /** Sealed resources in the file. */
  readonly resources: number;
  /** Sealed resources that changed. */
  readonly changed: number;
}

/**
 * Passes every sealed resource of `text` through `update` in file order and
 * returns the new text. Throws SealboxError('INPUT') for a malformed file or
 * resource, and whatever `update` throws (nothing is returned half-done).
 */
export async function rewriteSealedText(text: string, source: string, update: SealedUpdate): Promise<RewriteResult> {
  const docs = parseDocuments(text, source);
  if (/^\s*[{[]/.test(text)) return rewriteJson(docs, source, update, text);
  const changes: SealedChange[] = [];
  let resources = 0;
  for (const d of docs) {
    if (!isSealedManifest(d.value)) continue;
    resources++;
    const { sealed, what } = parseSealedDocument(d.value, source, d.index);
    const after = await update(sealed, what);
    if (after !== sealed) changes.push({ doc: d, before: sealed, after });
  }
  if (changes.length === 0) return { text, resources, changed: 0 };
  return { text: editSealedFile(text, docs, changes), resources, changed: changes.length };
}

async function rewriteJson(docs: ReturnType<typeof parseDocuments>, source: string, update: SealedUpdate, text: string): Promise<RewriteResult> {
  let resources = 0;
  let changed = 0;
  const updated = new Map<unknown, unknown>();
  for (const d of docs) {
    for (const v of expandLists([d.value], `${source} document ${d.index}`)) {
      if (!isSealedManifest(v)) continue;
      resources++;
      const { sealed, what } = parseSealedDocument(v, source, d.index);
      const after = await update(sealed, what);
      if (after !== sealed) {
        changed++;
        updated.set(v, { ...v, ...sealedManifest(after) });
      }
    }
  }
  if (changed === 0) return { text, resources, changed };
  // Lists of any shape and depth keep their structure; only changed items are replaced.
  const out = docs.map((d) => mapListItems(d.value, (v) => updated.get(v) ?? v));
  const body = out.length === 1 ? out[0] : { apiVersion: 'v1', kind: 'List', items: out };
  return { text: `${JSON.stringify(body, null, 2)}\n`, resources, changed };
}
