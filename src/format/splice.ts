/**
 * Text-level edits of a sealed YAML file: replace, add or remove single
 * values and data-key groups by splicing the source text at the positions
 * the parser recorded, so every untouched byte — indentation style, comments,
 * spacing, line endings — stays as the team's tools left it.
 */
import { isMap, isScalar, isSeq, stringify } from 'yaml';
import type { Document, Node, Pair, YAMLMap, YAMLSeq } from 'yaml';
import { encodeSealedValue } from '../crypto/value.js';
import type { SealedGroup, SealedSecret } from './sealed.js';
import { groupManifest } from './sealed.js';

/** One replacement of `source[start, end)` by `text`. */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Applies non-overlapping edits to `source`. */
export function applyTextEdits(source: string, edits: readonly TextEdit[]): string {
  let out = source;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

const lineStart = (src: string, at: number): number => src.lastIndexOf('\n', at - 1) + 1;
const column = (src: string, at: number): number => at - lineStart(src, at);
/** Offset just past the line break that ends the line holding `at`. */
function lineEnd(src: string, at: number): number {
  const nl = src.indexOf('\n', at);
  return nl < 0 ? src.length : nl + 1;
}

/** Inserts whole lines at `at`, starting a new line first when the file's last line has no line break. */
function insertion(src: string, at: number, lines: string, eol: string): TextEdit {
  const needsBreak = at === src.length && src.length > 0 && !src.endsWith('\n');
  return { start: at, end: at, text: needsBreak ? eol + lines : lines };
}

/** End of a block collection: its recorded end is already past its last line break, unless it ends the file. */
function blockEnd(src: string, end: number): number {
  return src[end - 1] === '\n' ? end : lineEnd(src, end);
}

function blockMap(node: unknown): YAMLMap | undefined {
  return isMap(node) && node.flow !== true && node.items.length > 0 ? node : undefined;
}

function blockSeq(node: unknown): YAMLSeq | undefined {
  return isSeq(node) && node.flow !== true && node.items.length > 0 ? node : undefined;
}

function keyOf(p: Pair): string | undefined {
  return isScalar(p.key) ? String(p.key.value) : undefined;
}

function rangeOf(n: unknown): [number, number, number] | undefined {
  const r = (n as Node | null | undefined)?.range;
  return r ?? undefined;
}

/** Layout of a block sequence item: column of its dash and of its first key. */
function itemColumns(src: string, item: unknown): { dash: number; key: number } | undefined {
  const r = rangeOf(item);
  if (r === undefined) return undefined;
  const start = lineStart(src, r[0]);
  const dash = src.indexOf('-', start);
  if (dash < 0 || dash >= r[0]) return undefined;
  return { dash: dash - start, key: column(src, r[0]) };
}

/** Renders `value` as block YAML lines for a sequence item at the given columns. */
function renderItem(value: unknown, cols: { dash: number; key: number }, indent: number, indentSeq: boolean, eol: string): string {
  const body = stringify(value, { lineWidth: 0, minContentWidth: 0, indent, indentSeq }).replace(/\n$/, '').split('\n');
  const first = `${' '.repeat(cols.dash)}-${' '.repeat(Math.max(1, cols.key - cols.dash - 1))}${body[0] ?? ''}`;
  return [first, ...body.slice(1).map((l) => ' '.repeat(cols.key) + l)].join(eol) + eol;
}

/** Detects the map indent unit and whether nested sequences are indented, from the recipients of a group. */
function detectStyle(src: string, group: YAMLMap): { indent: number; indentSeq: boolean } | undefined {
  const pair = group.items.find((p) => keyOf(p) === 'recipients');
  const seq = blockSeq(pair?.value);
  const keyRange = rangeOf(pair?.key);
  const first = seq?.items[0];
  if (seq === undefined || keyRange === undefined || first === undefined) return undefined;
  const cols = itemColumns(src, first);
  if (cols === undefined) return undefined;
  const keyCol = column(src, keyRange[0]);
  return { indent: Math.max(1, cols.key - cols.dash), indentSeq: cols.dash > keyCol };
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => keyOf(p) === key);
}

/**
 * Returns the text of `source` with `doc`'s sealed resource changed from
 * `before` to `after` (values and data-key groups only), or undefined when the
 * layout is one this splicer does not handle (flow collections, empty maps);
 * the caller then re-renders the document instead.
 */
export function spliceSealedChanges(source: string, doc: Document.Parsed, before: SealedSecret, after: SealedSecret): TextEdit[] | undefined {
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  const enc = blockMap(doc.getIn(['spec', 'encryptedData']));
  const seq = blockSeq(doc.getIn(['spec', 'dataKeys']));
  if (enc === undefined || seq === undefined) return undefined;
  const values = valueEdits(source, enc, before, after, eol);
  const groups = values === undefined ? undefined : groupEdits(source, seq, before, after, eol);
  return values === undefined || groups === undefined ? undefined : [...values, ...groups];
}

/** Edits of spec.encryptedData: removed, changed and added values; undefined for a layout not handled. */
function valueEdits(source: string, enc: YAMLMap, before: SealedSecret, after: SealedSecret, eol: string): TextEdit[] | undefined {
  const edits: TextEdit[] = [];
  for (const key of before.encryptedData.keys()) {
    if (after.encryptedData.has(key)) continue;
    const p = pairOf(enc, key);
    const k = rangeOf(p?.key);
    const v = rangeOf(p?.value);
    if (k === undefined || v === undefined) return undefined;
    edits.push({ start: lineStart(source, k[0]), end: lineEnd(source, v[1]), text: '' });
  }
  const added: string[] = [];
  for (const [key, value] of after.encryptedData) {
    const old = before.encryptedData.get(key);
    const text = encodeSealedValue(value);
    if (old !== undefined && encodeSealedValue(old) === text) continue;
    if (old === undefined) {
      added.push(`${key}: ${text}`);
      continue;
    }
    const v = rangeOf(pairOf(enc, key)?.value);
    if (v === undefined) return undefined;
    edits.push({ start: v[0], end: v[1], text });
  }
  if (added.length === 0) return edits;
  const last = enc.items[enc.items.length - 1];
  const k = rangeOf(last?.key);
  const v = rangeOf(last?.value);
  if (k === undefined || v === undefined) return undefined;
  const pad = ' '.repeat(column(source, k[0]));
  return [...edits, insertion(source, lineEnd(source, v[1]), added.map((l) => pad + l + eol).join(''), eol)];
}

/** Edits of spec.dataKeys: removed groups, changed recipients, added groups; undefined for a layout not handled. */
function groupEdits(source: string, seq: YAMLSeq, before: SealedSecret, after: SealedSecret, eol: string): TextEdit[] | undefined {
  const groups = seq.items;
  const firstGroup = blockMap(groups[0]);
  const style = firstGroup === undefined ? undefined : detectStyle(source, firstGroup);
  const cols = itemColumns(source, groups[0]);
  if (style === undefined || cols === undefined) return undefined;
  const edits: TextEdit[] = [];
  const afterIds = new Map(after.dataKeys.map((g) => [g.id, g]));
  for (let i = 0; i < before.dataKeys.length; i++) {
    const old = before.dataKeys[i];
    const node = blockMap(groups[i]);
    const r = rangeOf(groups[i]);
    if (old === undefined || node === undefined || r === undefined) return undefined;
    const next = afterIds.get(old.id);
    if (next === undefined) {
      edits.push({ start: lineStart(source, r[0]), end: blockEnd(source, r[1]), text: '' });
    } else if (next.binding !== old.binding || next.commitment !== old.commitment) {
      return undefined;
    } else if (JSON.stringify(groupManifest(next)) !== JSON.stringify(groupManifest(old))) {
      const e = recipientsEdit(source, node, next, style, eol);
      if (e === undefined) return undefined;
      edits.push(e);
    }
  }
  const beforeIds = new Set(before.dataKeys.map((g) => g.id));
  const fresh: SealedGroup[] = after.dataKeys.filter((g) => !beforeIds.has(g.id));
  if (fresh.length === 0) return edits;
  const lastRange = rangeOf(groups[groups.length - 1]);
  if (lastRange === undefined) return undefined;
  const at = blockEnd(source, lastRange[1]);
  return [...edits, insertion(source, at, fresh.map((g) => renderItem(groupManifest(g), cols, style.indent, style.indentSeq, eol)).join(''), eol)];
}

/** Replaces the recipients list of one group node by `next`'s; undefined for a layout not handled. */
function recipientsEdit(source: string, node: YAMLMap, next: SealedGroup, style: { indent: number; indentSeq: boolean }, eol: string): TextEdit | undefined {
  const recipients = blockSeq(pairOf(node, 'recipients')?.value);
  const first = recipients?.items[0];
  const rr = rangeOf(recipients);
  const rc = itemColumns(source, first);
  if (recipients === undefined || rr === undefined || rc === undefined) return undefined;
  const start = lineStart(source, rangeOf(first)?.[0] ?? rr[0]);
  const text = (groupManifest(next).recipients as unknown[]).map((x) => renderItem(x, rc, style.indent, style.indentSeq, eol)).join('');
  return { start, end: blockEnd(source, rr[1]), text };
}
