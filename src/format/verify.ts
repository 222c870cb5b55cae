import { isMap, isNode, isSeq } from 'yaml';
import type { ErrorHint } from '../errors.js';
import { isSealboxError, quote } from '../errors.js';
import { describeRecipient } from '../crypto/group.js';
import { checkBinding } from './seal.js';
import { isSealedManifest, parseSealedSecret } from './sealed.js';
import { looksLikeSecret, nestedSecretPaths } from './lists.js';
import { managedMetadata } from './managed.js';
import { isObject } from './object.js';
import { expandLists } from './secret.js';
import type { SourceDocument } from './yaml.js';

/** One problem `sealbox verify` reports. */
export interface Finding {
  readonly source: string;
  /** 1-based document index. */
  readonly document: number;
  /** 1-based line where the resource concerned starts (a List item's own line). */
  readonly line: number;
  readonly message: string;
  /** What to do, for the CLI to word (checkBinding's hints). */
  readonly hint?: ErrorHint;
}

/** A finding before its place is known. */
type Found = Pick<Finding, 'message' | 'hint'>;
const found = (message: string): Found => ({ message });

/** The resources of a document with their lines: the items of a `List`, else the document itself. */
function resourcesOf(d: SourceDocument, source: string): { value: unknown; line: number }[] {
  const values = expandLists([d.value], `${source} document ${d.index}`);
  const items = isMap(d.doc.contents) ? d.doc.contents.get('items', true) : undefined;
  if (values.length === 1 && values[0] === d.value) return [{ value: d.value, line: d.line }];
  // Lines of items are known for a flat list; items of nested lists get the document's line.
  if (!isSeq(items) || items.items.length !== values.length) return values.map((value) => ({ value, line: d.line }));
  return values.map((value, i) => {
    const node = items.items[i];
    const offset = isNode(node) ? node.range?.[0] : undefined;
    return { value, line: offset === undefined ? d.line : d.lineAt(offset) };
  });
}

/**
 * Checks the documents of one file, with the rules `seal` keeps: no Secret
 * with values at any depth of any list shape, nor nested in another object
 * (also in a string holding JSON); no managed metadata in a sealed resource
 * (a last-applied copy holds the values); and each sealed resource well
 * formed, its bindings and recipients consistent. Returns one finding per
 * problem. Pure: reads nothing else.
 */
export function verifyDocuments(source: string, docs: readonly SourceDocument[]): Finding[] {
  const findings: Finding[] = [];
  const unreadable = (d: SourceDocument, message: string): void => {
    findings.push({ source, document: d.index, line: d.line, message });
  };
  for (const { d, value, line } of resourcesIn(source, docs, unreadable)) {
    for (const f of checkItem(value)) findings.push({ source, document: d.index, line, ...f });
  }
  return findings;
}

/**
 * Yields every resource of `docs` (list items one by one) with its document
 * and line. A document whose resources cannot be read (a SealboxError) is
 * passed to `unreadable` instead; any other error is thrown.
 */
function* resourcesIn(source: string, docs: readonly SourceDocument[], unreadable: (d: SourceDocument, message: string) => void): Generator<{ d: SourceDocument; value: unknown; line: number }> {
  for (const d of docs) {
    let resources: { value: unknown; line: number }[];
    try {
      resources = resourcesOf(d, source);
    } catch (err) {
      if (!isSealboxError(err)) throw err;
      unreadable(d, err.message);
      continue;
    }
    for (const r of resources) yield { d, ...r };
  }
}

/**
 * Data-key groups a sealed resource may have before `verify` suggests
 * compacting it: each further group costs the controller one more
 * private-key operation (or KMS call) per unseal. Five `--merge-into` runs
 * leave seven.
 */
export const COMPACT_HINT_GROUPS = 3;

/**
 * Returns one hint per sealed resource with more than COMPACT_HINT_GROUPS
 * data-key groups, suggesting `sealbox reseal --compact`. Hints are not
 * problems: a resource that does not parse is left to verifyDocuments. Pure.
 */
export function compactionHints(source: string, docs: readonly SourceDocument[]): Finding[] {
  const hints: Finding[] = [];
  for (const { d, value, line } of resourcesIn(source, docs, () => undefined)) {
    if (!isSealedManifest(value) || !isObject(value.spec) || !Array.isArray(value.spec.dataKeys)) continue;
    const groups = value.spec.dataKeys.length;
    if (groups <= COMPACT_HINT_GROUPS) continue;
    const meta = isObject(value.metadata) ? value.metadata : {};
    const name = `${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${typeof meta.name === 'string' ? meta.name : ''}`;
    const message = `sealed secret ${quote(name, 330)} has ${groups} data-key groups (more than ${COMPACT_HINT_GROUPS}): each costs the controller a key operation per unseal; compact them into one with "sealbox reseal --compact ${source}"`;
    hints.push({ source, document: d.index, line, message });
  }
  return hints;
}

function checkItem(value: unknown): Found[] {
  const nested = (v: unknown, skip: readonly string[] = []): string[] =>
    nestedSecretPaths(v, skip).map((p) => `plaintext Secret with values at ${p}: delete it, seal the Secret with "sealbox seal" and treat its values as leaked`);
  if (looksLikeSecret(value)) {
    const count = valueCount(value.data) + valueCount(value.stringData);
    const own = count > 0 ? [`plaintext Secret with ${count} value(s): seal it with "sealbox seal" and commit only the sealed file`] : [];
    return [...own, ...nested(value, ['data', 'stringData'])].map(found);
  }
  if (isSealedManifest(value)) {
    const spec = isObject(value.spec) ? value.spec : {};
    const template = isObject(spec.template) ? spec.template : {};
    return [...checkSealed(value), ...[...managedFindings(value.metadata, template.metadata), ...nested(value)].map(found)];
  }
  return nested(value).map(found);
}

function valueCount(v: unknown): number {
  if (v === undefined || v === null) return 0;
  return isObject(v) ? Object.keys(v).length : 1;
}

function managedFindings(meta: unknown, templateMeta: unknown): string[] {
  const own = managedMetadata(meta, true);
  const template = managedMetadata(templateMeta, false).map((m) => `spec.template ${m}`);
  const all = [...own, ...template];
  if (all.length === 0) return [];
  // In the template, a copy of the Secret as applied: its values are in Git.
  const leaked = template.length > 0;
  return [`sealed secret carries metadata that Kubernetes or its tools manage (${all.join(', ')})${leaked ? '; a last-applied copy holds values as they were applied: treat those as leaked and rotate them' : ''}; remove it and commit only what "sealbox seal" writes`];
}

function checkSealed(value: unknown): Found[] {
  try {
    const s = parseSealedSecret(value, 'sealed secret');
    checkBinding(s, `sealed secret "${s.namespace}/${s.name}"`);
    const out: string[] = [];
    const used = new Set([...s.encryptedData.values()].map((v) => v.groupId));
    for (const g of s.dataKeys) {
      if (!used.has(g.id)) out.push(`data-key group ${g.id} holds no value; remove it (sealbox rotate does)`);
    }
    const sets = s.dataKeys.map((g) => g.recipients.map(describeRecipient).sort().join(', '));
    if (new Set(sets).size > 1) {
      out.push(`data-key groups have different recipients (${[...new Set(sets)].map((x) => `[${x}]`).join(' vs ')}): some values cannot be unsealed by every key; reseal or rotate so all groups share one recipient set`);
    }
    return out.map(found);
  } catch (err) {
    if (isSealboxError(err)) return [err.hint === undefined ? found(err.message) : { message: err.message, hint: err.hint }];
    throw err;
  }
}
