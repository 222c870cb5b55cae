import { describeRecipient } from '../crypto/group.js';
import type { KeyWrapper, Scope } from '../crypto/types.js';
import { isSecretFieldName } from '../crypto/binding.js';
import { SealboxError, quote } from '../errors.js';
import type { SealedItem } from './rewrite.js';
import { readSealedFile, sealedItems, writeSealedFile } from './rewrite.js';
import { mergeIntoSealed } from './seal.js';
import type { SealedSecret } from './sealed.js';
import type { SecretData } from './secret.js';

/** Options of mergeSecretsInto. */
export interface MergeOptions {
  readonly wrappers: readonly KeyWrapper[];
  readonly namespace?: string;
  /** The scope the user asked for (--scope); refused when the file's differs. */
  readonly scope?: Scope;
}

function findTarget(targets: readonly SealedItem[], secret: SecretData, source: string, namespace: string | undefined): SealedItem {
  const ns = secret.namespace !== '' ? secret.namespace : namespace;
  const matches = targets.filter((t) => (secret.name === '' || t.sealed.name === secret.name) && (ns === undefined || t.sealed.namespace === ns));
  const [first] = matches;
  if (matches.length === 1 && first !== undefined) return first;
  const who = secret.name === '' ? 'the secret' : `secret "${secret.name}"`;
  if (matches.length === 0) {
    throw new SealboxError('INPUT', `${source} has no sealed secret matching ${who}`, { hint: { kind: 'merge-target-missing' } });
  }
  throw new SealboxError('INPUT', `${source} has several sealed secrets matching ${who}`, { hint: { kind: 'merge-target-ambiguous' } });
}

function placeOf(s: SealedSecret): string {
  return s.namespace === '' ? s.name : `${s.namespace}/${s.name}`;
}

/** A recipient's identity for the merge check; the versions of one Key Vault key are one recipient. */
const refOf = (r: { type: string; id: string }): string => `${r.type}\0${r.type === 'azure-kv' ? r.id.replace(/(\/keys\/[^/]+)\/[^/]+$/, '$1') : r.id}`;

/**
 * Refuses a merge whose new data-key group is not readable by the same keys
 * as the rest of the resource: a recipient the resource does not have (the
 * original cluster could not unseal the new values), or a recipient that
 * reads every other value but not the new ones. Throws SealboxError('INPUT').
 */
function checkRecipients(before: SealedSecret, after: SealedSecret, what: string): void {
  const added = after.dataKeys.at(-1);
  if (before.dataKeys.length === 0 || added === undefined || after === before) return;
  const all = new Set(before.dataKeys.flatMap((g) => g.recipients.map(refOf)));
  const everywhere = before.dataKeys[0]?.recipients.filter((r) => before.dataKeys.every((g) => g.recipients.some((x) => refOf(x) === refOf(r)))) ?? [];
  const known = before.dataKeys.flatMap((g) => g.recipients).filter((r, i, list) => list.findIndex((x) => refOf(x) === refOf(r)) === i).map(describeRecipient).join(', ');
  const stranger = added.recipients.find((r) => !all.has(refOf(r)));
  if (stranger !== undefined) {
    throw new SealboxError('INPUT', `${what}: the new values would be sealed for ${describeRecipient(stranger)}, which is not one of its recipients (${known}), so whoever unseals it now could not read them: merge with its recipients, or add ${describeRecipient(stranger)} to the file first with "sealbox rotate"`);
  }
  const missing = everywhere.find((r) => !added.recipients.some((x) => refOf(x) === refOf(r)));
  if (missing !== undefined) {
    throw new SealboxError('INPUT', `${what}: every value is readable by ${describeRecipient(missing)}, but the new values would not be: merge with all of its recipients (${known})`);
  }
}

/**
 * Adds or replaces the values of `secrets` in the sealed file `text`, with
 * encrypt rights only. Returns the new file content: YAML is edited node by
 * node so every other line stays byte-identical; JSON is re-serialised.
 * Throws SealboxError('INPUT') when a secret has no single matching sealed
 * resource, or the file is malformed; wrapper errors propagate.
 */
export async function mergeSecretsInto(text: string, source: string, secrets: readonly SecretData[], opts: MergeOptions): Promise<string> {
  const file = readSealedFile(text, source);
  // JSON files may hold a v1 List (what "seal --format json" writes for several secrets).
  const targets = [...sealedItems(file)];
  const updated = new Map<SealedItem, SealedSecret>();
  for (const secret of secrets) {
    for (const key of secret.data.keys()) {
      if (!isSecretFieldName(key)) throw new SealboxError('INPUT', `${quote(key)} is not a valid Secret key (letters, digits, "-", "_", ".")`);
    }
    const target = findTarget(targets, secret, source, opts.namespace);
    const what = `${source}: sealed secret "${placeOf(target.sealed)}"`;
    if (opts.scope !== undefined && opts.scope !== target.sealed.scope) {
      throw new SealboxError('INPUT', `${what} is sealed with scope "${target.sealed.scope}", not "${opts.scope}"; merged values take the file's scope`, { hint: { kind: 'merge-scope', scope: opts.scope } });
    }
    const current = updated.get(target) ?? target.sealed;
    const merged = await mergeIntoSealed(current, secret.data, { wrappers: opts.wrappers });
    checkRecipients(current, merged, what);
    updated.set(target, merged);
  }
  // In file order, as the targets are.
  return writeSealedFile(file, new Map(targets.flatMap((t) => {
    const after = updated.get(t);
    return after === undefined ? [] : [[t, after] as const];
  })));
}
