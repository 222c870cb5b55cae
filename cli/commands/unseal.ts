import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { describeDocument, parseSealedDocument, unsealDocuments } from '../../src/format/documents.js';
import { isSealedManifest } from '../../src/format/sealed.js';
import { isObject } from '../../src/format/object.js';
import { expandLists, isSecretManifest } from '../../src/format/secret.js';
import type { OutputFormat, SourceDocument } from '../../src/format/yaml.js';
import { parseDocuments, stringifyDocuments } from '../../src/format/yaml.js';
import { readText, writeOutput } from '../io.js';
import { unsealUnwrappers } from '../kms.js';
import { collect, once } from '../options.js';
import { keyUnwrappers } from '../recipients.js';
import { decodeSecrets, environmentOf, toDotenv } from '../unsealed-values.js';
import { unsealBitnamiDocuments } from '../unseal-bitnami.js';

interface UnsealFlags {
  key: string[];
  file: string;
  output?: string;
  format: string;
  decode?: boolean;
}

/** Registers `sealbox unseal`. */
export function registerUnseal(program: Command): void {
  program
    .command('unseal')
    .description('turn sealed resources back into Secret manifests (for holders of a private key or a KMS key)')
    .option('--key <file>', 'private key (PEM) of a cert recipient; repeat for several keys; KMS recipients need no flag (default credentials)', collect, [])
    .option('-f, --file <file>', 'sealed file (multi-document); - for stdin', once('unseal reads one file'), '-')
    .option('-o, --output <file>', 'write here (mode 0600, atomically) instead of stdout', once('pass one output'))
    .option('--format <format>', 'yaml | json | env (a dotenv file of the values: KEY=value, shell-quoted; keys must be valid variable names)', 'yaml')
    .option('--decode', 'readable stringData instead of base64 data (values that are not UTF-8 text stay in data)')
    .action(async (flags: UnsealFlags) => {
      if (flags.format !== 'yaml' && flags.format !== 'json' && flags.format !== 'env') throw new SealboxError('INPUT', `--format ${flags.format}: use yaml, json or env`);
      const source = flags.file === '-' ? 'standard input' : flags.file;
      let docs = parseDocuments(await readText(flags.file), source);
      // Sealed Secrets' resources first (kubeseal's format, opened with --key), then sealbox's.
      const opened = await unsealBitnamiDocuments(docs, source, flags.key);
      if (opened !== undefined && !opened.some(isSealedManifest)) {
        await writeOutput(flags.output, render(opened, flags), 0o600);
        return;
      }
      if (opened === undefined) checkUnsealable(docs, source);
      const sealed = docs.flatMap((d) => expandLists([d.value]).filter(isSealedManifest).map((v) => parseSealedDocument(v, source, d.index).sealed));
      // KMS stanzas are unwrapped with the keys they name and the default credentials.
      const unwrappers = await unsealUnwrappers(await keyUnwrappers(flags.key), sealed);
      if (unwrappers.length === 0) {
        throw new SealboxError('INPUT', 'no keys: pass --key with a private key file (the input has no KMS recipients to unseal with)');
      }
      if (opened !== undefined) docs = opened.map((value, i) => ({ ...(docs[0] as SourceDocument), index: i + 1, value }));
      // Plaintext output: private to the user.
      await writeOutput(flags.output, render(await unsealDocuments(docs, source, unwrappers), flags), 0o600);
    });
}

function render(out: unknown[], flags: UnsealFlags): string {
  const format = flags.format as OutputFormat | 'env';
  return format === 'env' ? toDotenv(environmentOf(out)) : stringifyDocuments(flags.decode === true ? decodeSecrets(out) : out, format);
}

/** Sealed Secrets' (kubeseal's) API group, in a version sealbox does not read. */
const BITNAMI_GROUP = 'bitnami.com/';

/**
 * Refuses an input unseal would only echo: empty, no sealbox resource in it
 * (a plain Secret), or a Bitnami SealedSecret anywhere in it (it would pass
 * through still sealed). Throws SealboxError('INPUT') saying what to do.
 */
export function checkUnsealable(docs: readonly SourceDocument[], source: string): void {
  if (docs.length === 0) throw new SealboxError('INPUT', `${source} is empty: nothing to unseal; give a file sealed by sealbox`);
  let sealed = false;
  for (const d of docs) {
    for (const v of expandLists([d.value])) {
      if (isSealedManifest(v)) sealed = true;
      else if (isObject(v) && v.kind === 'SealedSecret' && typeof v.apiVersion === 'string' && v.apiVersion.startsWith(BITNAMI_GROUP)) {
        throw new SealboxError('INPUT', `${describeDocument(source, d.index, v)} is a Bitnami Sealed Secrets resource (${v.apiVersion.slice(0, 40)}), not a sealbox one, in a version sealbox does not read: unseal it with kubeseal (--recovery-unseal)`);
      }
    }
  }
  if (!sealed) {
    const plain = docs.some((d) => expandLists([d.value]).some(isSecretManifest));
    throw new SealboxError('INPUT', plain ? `${source} holds a plain Secret, not a sealed one: there is nothing to unseal` : `${source} has no sealed secret to unseal; give a file sealed by sealbox`);
  }
}
