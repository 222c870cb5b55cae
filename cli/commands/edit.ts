import { basename, extname } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { DataKeyCache } from '../../src/crypto/key-cache.js';
import type { KeyUnwrapper, KeyWrapper, RecipientRef } from '../../src/crypto/types.js';
import { describeRecipient } from '../../src/crypto/group.js';
import { SealboxError, isSealboxError } from '../../src/errors.js';
import { checkNoPlaintext, plaintextValues } from '../../src/format/cleartext.js';
import { parseSealedDocument } from '../../src/format/documents.js';
import { rewriteSealedText } from '../../src/format/rewrite.js';
import { unsealSealedSecret } from '../../src/format/seal.js';
import type { SealedSecret } from '../../src/format/sealed.js';
import { isSealedManifest } from '../../src/format/sealed.js';
import type { SecretData } from '../../src/format/secret.js';
import { expandLists, parseSecret } from '../../src/format/secret.js';
import { recipientSetOf, setSealedValues } from '../../src/format/values.js';
import { CertIdentity } from '../../src/keys/cert.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { editPrivately } from '../edit-session.js';
import { cliMessage } from '../hints.js';
import { readText, writeFileAtomic } from '../io.js';
import { kmsWrappers, unsealUnwrappers } from '../kms.js';
import { collect } from '../options.js';
import { certWrappers, keyUnwrappers } from '../recipients.js';

const HEADER = [
  '# sealbox edit: change, add or remove values, then save and quit to re-seal.',
  '# stringData holds text values, data holds binary ones (base64); either may take new keys.',
  '# Only values can change here: name, namespace, type, labels and annotations cannot.',
  '# Quit without saving (or leave it unchanged) to write nothing.',
  '',
].join('\n');

/** Registers `sealbox edit`. */
export function registerEdit(program: Command): void {
  program
    .command('edit')
    .description('edit the values of a sealed file in $EDITOR (holders of a KMS key or a private key); changed values are sealed under a new data key for the same recipients')
    .argument('<file>', 'sealed file, edited in place')
    .option('--key <file>', 'private key (PEM) of a cert recipient; KMS recipients need no flag (default credentials)', collect, [])
    .option('--cert <cert>', 'certificate (file or http(s) URL) of a cert recipient whose private key you do not pass: changed values are wrapped for every recipient; repeatable', collect, [])
    .action(async (file: string, flags: { key: string[]; cert: string[] }) => {
      const text = await readText(file);
      const docs = parseDocuments(text, file);
      const sealed = docs.flatMap((d) => expandLists([d.value]).filter(isSealedManifest).map((v) => parseSealedDocument(v, file, d.index)));
      if (sealed.length === 0) throw new SealboxError('INPUT', `${file} has no sealed secret to edit`);
      // Refused before the editor opens: a file whose groups differ in recipients must be rotated first.
      const refs = sealed.flatMap((s) => recipientSetOf(s.sealed, s.what));
      const keys = await keyUnwrappers(flags.key);
      const wrappers = await editWrappers(refs, keys, flags.cert);
      const unwrappers = await unsealUnwrappers(keys, sealed.map((s) => s.sealed));
      if (unwrappers.length === 0) throw new SealboxError('INPUT', `${file} has no KMS recipients; pass --key with a private key file`);
      const cache = new DataKeyCache(1000);
      try {
        const before = await Promise.all(sealed.map((s) => unsealSealedSecret(s.sealed, unwrappers, s.what, cache)));
        const result = await editUntilValid(HEADER + before.map(renderSecret).join('---\n'), `${basename(file, extname(file))}.yaml`, async (edited) => {
          const after = readEdited(edited, before);
          const out = await updateFile(text, file, after, { unwrappers, wrappers, cache });
          // A value copied into a cleartext field is refused like any invalid edit (the editor reopens).
          checkNoPlaintext(out, file, plaintextValues(after));
          return out;
        });
        if (result === undefined) return;
        if (result === text) {
          process.stderr.write('no value changed; nothing written\n');
          return;
        }
        await writeFileAtomic(file, result, (await stat(file)).mode & 0o777);
      } finally {
        cache.clear();
      }
    });
}

/**
 * The wrappers for the recipients of the file: certificates from --cert and
 * the public halves of --key, KMS keys built from the stanza ids (the exact
 * key version, so the new group names the same recipients). Throws
 * SealboxError('INPUT'), before the editor opens, when a cert recipient has
 * neither.
 */
async function editWrappers(refs: readonly RecipientRef[], keys: readonly KeyUnwrapper[], certs: readonly string[]): Promise<KeyWrapper[]> {
  const kms = [...new Set(refs.filter((r) => r.type !== 'cert').map((r) => `${r.type === 'aws-kms' ? 'aws' : 'azure'}:${r.id}`))];
  const own = keys.filter((k): k is CertIdentity => k instanceof CertIdentity).map((k) => k.wrapper());
  const wrappers = [...(await certWrappers(certs)), ...own, ...(await kmsWrappers(kms))];
  const missing = refs.find((r) => !wrappers.some((w) => w.recipient.type === r.type && w.recipient.id === r.id));
  if (missing !== undefined) {
    throw new SealboxError('INPUT', `changed values are sealed under a new data key for every recipient, and ${describeRecipient(missing)} is not known here; pass its certificate with --cert (nothing was opened or written)`);
  }
  return wrappers;
}

/**
 * Runs the editor on `plaintext` until `apply` accepts what comes back, as
 * `kubectl edit` and sops do: an edit `apply` refuses (invalid YAML, a
 * change only the sealed file may make) is reopened with the error as a
 * comment at the top, so the user's changes are not lost. Returns what
 * `apply` returned, or undefined (after saying so) when the text came back
 * unchanged or empty. Throws SealboxError('INPUT') when it comes back
 * unchanged after an error; errors other than INPUT propagate.
 */
async function editUntilValid(plaintext: string, fileName: string, apply: (edited: string) => Promise<string>): Promise<string | undefined> {
  let shown = plaintext;
  let refused: SealboxError | undefined;
  for (;;) {
    const edited = await editPrivately(shown, fileName);
    if (edited === shown && refused !== undefined) {
      throw new SealboxError('INPUT', `edit cancelled, nothing written: the file came back unchanged after ${cliMessage(refused)}`, { cause: refused });
    }
    if (edited === shown) {
      process.stderr.write('no changes; nothing written\n');
      return undefined;
    }
    if (isBlank(edited)) {
      process.stderr.write('edit cancelled: the file came back empty; nothing written\n');
      return undefined;
    }
    try {
      return await apply(edited);
    } catch (err) {
      if (!isSealboxError(err, 'INPUT')) throw err;
      refused = err;
      shown = withError(edited, cliMessage(err));
    }
  }
}

/** True when the text holds nothing but comments and blank lines. */
function isBlank(text: string): boolean {
  return text.split('\n').every((l) => /^\s*(#.*)?$/.test(l));
}

/** The edited text again, its leading comments replaced by the header and the error. */
function withError(edited: string, message: string): string {
  const lines = edited.split('\n');
  const start = lines.findIndex((l) => !/^\s*(#.*)?$/.test(l));
  const error = [
    '# sealbox edit: the edit was not saved, fix it and save again (or quit without changes to give up):',
    ...message.split('\n').map((l) => `# error: ${l}`),
    '#',
  ].join('\n');
  return `${error}\n${HEADER}${lines.slice(start < 0 ? lines.length : start).join('\n')}`;
}

async function updateFile(text: string, file: string, after: readonly SecretData[], keys: { unwrappers: readonly KeyUnwrapper[]; wrappers: readonly KeyWrapper[]; cache: DataKeyCache }): Promise<string> {
  let i = 0;
  const summary: string[] = [];
  const result = await rewriteSealedText(text, file, async (s: SealedSecret, what: string) => {
    const next = after[i++];
    if (next === undefined) throw new SealboxError('INTERNAL', `${what}: no edited secret for it`);
    const { sealed, changes } = await setSealedValues(s, next.data, keys.unwrappers, what, { wrappers: keys.wrappers, cache: keys.cache });
    const parts = [['changed', changes.changed], ['added', changes.added], ['removed', changes.removed]] as const;
    const told = parts.filter(([, keys]) => keys.length > 0).map(([verb, keys]) => `${verb} ${keys.join(', ')}`);
    if (told.length > 0) summary.push(`${s.namespace === '' ? '' : `${s.namespace}/`}${s.name}: ${told.join('; ')}`);
    return sealed;
  });
  for (const line of summary) process.stderr.write(`${line}\n`);
  return result.text;
}

/** A Secret manifest for editing: text values in stringData, others (base64) in data. */
function renderSecret(s: SecretData): string {
  const stringData: Record<string, string> = {};
  const data: Record<string, string> = {};
  for (const [k, v] of s.data) {
    const asText = Buffer.from(v).toString('utf8');
    // eslint-disable-next-line no-control-regex -- control characters make a value binary here
    if (Buffer.from(asText, 'utf8').equals(Buffer.from(v)) && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(asText)) stringData[k] = asText;
    else data[k] = Buffer.from(v).toString('base64');
  }
  const metadata = { name: s.name, ...(s.namespace === '' ? {} : { namespace: s.namespace }) };
  const manifest = {
    apiVersion: 'v1', kind: 'Secret', metadata, type: s.type,
    ...(Object.keys(stringData).length > 0 ? { stringData } : {}),
    ...(Object.keys(data).length > 0 ? { data } : {}),
  };
  return stringify(manifest, { lineWidth: 0, minContentWidth: 0 });
}

/**
 * Parses the edited text back into one Secret per sealed resource, in order.
 * Throws SealboxError('INPUT') when a resource was added, removed or renamed,
 * or anything but its values changed.
 */
function readEdited(text: string, before: readonly SecretData[]): SecretData[] {
  const source = 'the edited secret';
  const values = parseDocuments(text, source).flatMap((d) => expandLists([d.value]));
  if (values.length !== before.length) {
    throw new SealboxError('INPUT', `${source} has ${values.length} document(s) but the file has ${before.length} sealed secret(s); edit values only`);
  }
  return values.map((v, i) => {
    const s = parseSecret(v, `${source} document ${i + 1}`);
    const b = before[i];
    if (b === undefined) throw new SealboxError('INTERNAL', 'edited document without a sealed secret');
    const same = s.name === b.name && (s.namespace === b.namespace || s.namespace === '') && s.type === b.type &&
      Object.keys(s.labels).length === 0 && Object.keys(s.annotations).length === 0 && s.immutable === undefined;
    if (!same) {
      throw new SealboxError('INPUT', `${source} document ${i + 1}: only values can change in sealbox edit (it was "${b.namespace}/${b.name}", type ${b.type}); change the template in the sealed file itself`);
    }
    return s;
  });
}
