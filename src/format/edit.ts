import { isMap, isSeq } from 'yaml';
import type { Document } from 'yaml';
import { encodeSealedValue } from '../crypto/value.js';
import { SealboxError } from '../errors.js';
import type { SealedSecret } from './sealed.js';
import { groupManifest } from './sealed.js';
import type { TextEdit } from './splice.js';
import { applyTextEdits, spliceSealedChanges } from './splice.js';
import type { SourceDocument } from './yaml.js';
import { stringifyDocument } from './yaml.js';

/**
 * Writes the changes from `before` to `after` into the YAML document that
 * `before` was parsed from, node by node, so every line that did not change
 * (other values, comments, layout) stays byte-identical in `git diff`.
 * Only spec.encryptedData and spec.dataKeys are edited.
 */
export function applySealedChanges(doc: Document, before: SealedSecret, after: SealedSecret): void {
  for (const key of before.encryptedData.keys()) {
    if (!after.encryptedData.has(key)) doc.deleteIn(['spec', 'encryptedData', key]);
  }
  for (const [key, value] of after.encryptedData) {
    const old = before.encryptedData.get(key);
    const text = encodeSealedValue(value);
    if (old === undefined || encodeSealedValue(old) !== text) {
      if (!isMap(doc.getIn(['spec', 'encryptedData']))) doc.setIn(['spec', 'encryptedData'], doc.createNode({}));
      doc.setIn(['spec', 'encryptedData', key], text);
    }
  }
  let seq = doc.getIn(['spec', 'dataKeys']);
  if (!isSeq(seq)) {
    doc.setIn(['spec', 'dataKeys'], doc.createNode([]));
    seq = doc.getIn(['spec', 'dataKeys']);
  }
  if (!isSeq(seq)) throw new SealboxError('INTERNAL', 'spec.dataKeys is not a list after creating it');
  const afterIds = new Map(after.dataKeys.map((g) => [g.id, g]));
  // Walk backwards so deleting does not shift the indexes still to visit.
  for (let i = before.dataKeys.length - 1; i >= 0; i--) {
    const old = before.dataKeys[i];
    if (old === undefined) continue;
    const next = afterIds.get(old.id);
    if (next === undefined) {
      seq.delete(i);
    } else if (JSON.stringify(groupManifest(next)) !== JSON.stringify(groupManifest(old))) {
      const m = groupManifest(next);
      doc.setIn(['spec', 'dataKeys', i, 'commitment'], m.commitment);
      doc.setIn(['spec', 'dataKeys', i, 'binding'], m.binding);
      doc.setIn(['spec', 'dataKeys', i, 'recipients'], doc.createNode(m.recipients));
    }
  }
  const beforeIds = new Set(before.dataKeys.map((g) => g.id));
  for (const g of after.dataKeys) {
    if (!beforeIds.has(g.id)) seq.add(doc.createNode(groupManifest(g)));
  }
}

/** One sealed resource of a file, before and after a change. */
export interface SealedChange {
  readonly doc: SourceDocument;
  readonly before: SealedSecret;
  readonly after: SealedSecret;
}

/**
 * Returns the new text of a sealed YAML file after `changes`. Splices the
 * source text so untouched bytes stay exactly as they were; when a layout is
 * beyond the splicer (flow collections), edits the YAML tree and re-renders
 * the documents instead, which still keeps every untouched value on its line.
 */
export function editSealedFile(source: string, docs: readonly SourceDocument[], changes: readonly SealedChange[]): string {
  const edits: TextEdit[] = [];
  for (const c of changes) {
    const e = spliceSealedChanges(source, c.doc.doc, c.before, c.after);
    if (e === undefined) {
      for (const x of changes) applySealedChanges(x.doc.doc, x.before, x.after);
      return docs.map((d) => stringifyDocument(d.doc)).join('');
    }
    edits.push(...e);
  }
  return applyTextEdits(source, edits);
}
