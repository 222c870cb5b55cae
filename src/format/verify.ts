import { isMap, isNode, isSeq } from 'yaml';
import { isSealboxError } from '../errors.js';
import { describeRecipient } from '../crypto/group.js';
import { checkBinding } from './seal.js';
import { isSealedManifest, parseSealedSecret } from './sealed.js';
import { expandLists, isSecretManifest } from './secret.js';
import type { SourceDocument } from './yaml.js';

/** One problem `sealbox verify` reports. */
export interface Finding {
  readonly source: string;
  /** 1-based document index. */
  readonly document: number;
  /** 1-based line where the resource concerned starts (a List item's own line). */
  readonly line: number;
  readonly message: string;
}

/** The resources of a document with their lines: the items of a `List`, else the document itself. */
function resourcesOf(d: SourceDocument): { value: unknown; line: number }[] {
  const values = expandLists([d.value]);
  const items = isMap(d.doc.contents) ? d.doc.contents.get('items', true) : undefined;
  if (values.length === 1 && values[0] === d.value) return [{ value: d.value, line: d.line }];
  return values.map((value, i) => {
    const node = isSeq(items) ? items.items[i] : undefined;
    const offset = isNode(node) ? node.range?.[0] : undefined;
    return { value, line: offset === undefined ? d.line : d.lineAt(offset) };
  });
}

/**
 * Checks the documents of one file. Returns a finding for each plaintext
 * Secret that carries values, each malformed sealed resource, and each one
 * whose bindings or recipients are inconsistent. Pure: reads nothing else.
 */
export function verifyDocuments(source: string, docs: readonly SourceDocument[]): Finding[] {
  const findings: Finding[] = [];
  for (const d of docs) {
    for (const { value, line } of resourcesOf(d)) {
      const add = (message: string): void => {
        findings.push({ source, document: d.index, line, message });
      };
      if (isSecretManifest(value)) {
        const count = Object.keys(value.data ?? {}).length + Object.keys(value.stringData ?? {}).length;
        if (count > 0) add(`plaintext Secret with ${count} value(s): seal it with "sealbox seal" and commit only the sealed file`);
      } else if (isSealedManifest(value)) {
        for (const message of checkSealed(value)) add(message);
      }
    }
  }
  return findings;
}

function checkSealed(value: unknown): string[] {
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
    return out;
  } catch (err) {
    if (isSealboxError(err)) return [err.message];
    throw err;
  }
}
