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
  readonly message: string;
}

/**
 * Checks the documents of one file. Returns a finding for each plaintext
 * Secret that carries values, each malformed sealed resource, and each one
 * whose bindings or recipients are inconsistent. Pure: reads nothing else.
 */
export function verifyDocuments(source: string, docs: readonly SourceDocument[]): Finding[] {
  const findings: Finding[] = [];
  for (const d of docs) {
    const add = (message: string): void => {
      findings.push({ source, document: d.index, message });
    };
    for (const value of expandLists([d.value])) {
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
