/**
 * Rewrites the sealed resources of one file, keeping everything else as it
 * was: YAML is spliced so untouched bytes stay byte-identical
 * (editSealedFile); JSON (a resource or a v1 List) is re-serialised, as
 * `seal --format json` writes it. The one place that tells the two apart and
 * writes changed resources back (`rotate`, `edit`, `seal --merge-into`).
 */
import { editSealedFile } from './edit.js';
import { parseSealedDocument } from './documents.js';
import type { SealedSecret } from './sealed.js';
import { isSealedManifest, sealedManifest } from './sealed.js';
import { mapListItems } from './lists.js';
import { expandLists } from './secret.js';
import type { SourceDocument } from './yaml.js';
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

/** One sealed resource of a file: its document, its manifest object and the parsed resource. */
export interface SealedItem {
  readonly doc: SourceDocument;
  /** The manifest object (a document, or an item of a JSON v1 List). */
  readonly value: unknown;
  readonly sealed: SealedSecret;
  readonly what: string;
}

/** The documents of a sealed file, and whether it is JSON (re-serialised) rather than YAML (spliced). */
export interface SealedFile {
  readonly text: string;
  readonly source: string;
  readonly docs: readonly SourceDocument[];
  readonly json: boolean;
}

/** Parses `text` into documents. Throws SealboxError('INPUT') for malformed YAML or JSON. */
export function readSealedFile(text: string, source: string): SealedFile {
  return { text, source, docs: parseDocuments(text, source), json: /^\s*[{[]/.test(text) };
}

/**
 * Yields the sealed resources of a file in file order, each parsed only when
 * reached (items of JSON v1 Lists too; YAML documents are not expanded).
 * Throws SealboxError('INPUT') for a malformed resource.
 */
export function* sealedItems(file: SealedFile): Generator<SealedItem> {
  for (const doc of file.docs) {
    const values = file.json ? expandLists([doc.value], `${file.source} document ${doc.index}`) : [doc.value];
    for (const value of values) {
      if (!isSealedManifest(value)) continue;
      const { sealed, what } = parseSealedDocument(value, file.source, doc.index);
      yield { doc, value, sealed, what };
    }
  }
}

/**
 * Returns the file's text with the changed resources written back, in file
 * order. YAML: spliced, every other byte kept. JSON: re-serialised; lists of
 * any shape and depth keep their structure, only changed items are replaced.
 */
export function writeSealedFile(file: SealedFile, updated: ReadonlyMap<SealedItem, SealedSecret>): string {
  if (!file.json) {
    const changes = [...updated].map(([item, after]) => ({ doc: item.doc, before: item.sealed, after }));
    return editSealedFile(file.text, file.docs, changes);
  }
  const byValue = new Map([...updated].map(([item, after]) => [item.value, { ...(item.value as object), ...sealedManifest(after) }]));
  const out = file.docs.map((d) => mapListItems(d.value, (v) => byValue.get(v) ?? v));
  return `${JSON.stringify(out.length === 1 ? out[0] : { apiVersion: 'v1', kind: 'List', items: out }, null, 2)}\n`;
}

/**
 * Passes every sealed resource of `text` through `update` in file order and
 * returns the new text. Throws SealboxError('INPUT') for a malformed file or
 * resource, and whatever `update` throws (nothing is returned half-done).
 */
export async function rewriteSealedText(text: string, source: string, update: SealedUpdate): Promise<RewriteResult> {
  const file = readSealedFile(text, source);
  const updated = new Map<SealedItem, SealedSecret>();
  let resources = 0;
  for (const item of sealedItems(file)) {
    resources++;
    const after = await update(item.sealed, item.what);
    if (after !== item.sealed) updated.set(item, after);
  }
  if (updated.size === 0) return { text, resources, changed: 0 };
  return { text: writeSealedFile(file, updated), resources, changed: updated.size };
}
