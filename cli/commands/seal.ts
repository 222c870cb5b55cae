import { basename } from 'node:path';
import type { Command } from 'commander';
import { isNamespaceName, isObjectName } from '../../src/crypto/binding.js';
import { SealboxError } from '../../src/errors.js';
import { checkNoPlaintext, plaintextValues } from '../../src/format/cleartext.js';
import { sealDocuments, summarizeInput } from '../../src/format/documents.js';
import { mergeSecretsInto } from '../../src/format/merge.js';
import type { SecretData } from '../../src/format/secret.js';
import type { OutputFormat } from '../../src/format/yaml.js';
import { stringifyDocuments } from '../../src/format/yaml.js';
import { readText, writeOutput } from '../io.js';
import { collect, once, usageError } from '../options.js';
import { addClusterOptions } from '../cluster.js';
import { sealFolder } from '../seal-folder.js';
import type { SealInputFlags } from '../seal-input.js';
import { inputFolder, isLiteral, readDocuments, readSecrets, requireSecret } from '../seal-input.js';
import type { SealRecipientFlags, SealRecipients } from '../seal-recipients.js';
import { configTarget, sealRecipients } from '../seal-recipients.js';

interface SealFlags extends SealRecipientFlags, SealInputFlags {
  output?: string;
  format: string;
  mergeInto?: string;
}

/** Registers `sealbox seal`. */
export function registerSeal(program: Command): void {
  const cmd = program
    .command('seal')
    .description('seal Secret manifests into SealedSecrets that are safe to commit')
    .option('-f, --file <file>', 'Secret manifest(s), YAML or JSON, multi-document; - for stdin; a folder seals every .yaml/.yml/.json file below it', once('seal reads one file or folder'), '-')
    .option('--cert <cert>', 'cluster certificate (file or http(s) URL); repeat for several clusters; default: .sealbox.yaml, else fetched from the cluster', collect, [])
    .option('--kms <spec>', 'KMS key: aws:KEY_ARN_OR_ALIAS or azure:https://VAULT/keys/NAME[/VERSION]; repeatable, mixable with --cert', collect, [])
    .option('--scope <scope>', 'strict | namespace | cluster (default: .sealbox.yaml rule, else strict)', once('pass one scope'))
    .option('-o, --output <file>', 'write here instead of stdout (atomically); with a folder -f, a folder that mirrors it file by file', once('pass one output'))
    .option('--format <format>', 'yaml | json', 'yaml')
    .option('--merge-into <sealed>', 'add or replace values in this sealed file, in place, without decrypt rights', once('merge into one file at a time'))
    .option('--name <name>', 'Secret name (with --from-literal/--from-file, or to rename)', once('pass one name'))
    .option('--namespace <ns>', 'Secret namespace when the manifest has none', once('pass one namespace'))
    .option('--type <type>', 'Secret type with --from-literal/--from-file', 'Opaque')
    .option('--from-literal <key=value>', 'a value given on the command line; repeatable', collect, [])
    .option('--from-file <[key=]path>', 'a value read from a file; repeatable', collect, [])
    .option('--insecure-http', 'allow a .sealbox.yaml rule to fetch a certificate over plain http (cert:http://…)');
  addClusterOptions(cmd).action(async (flags: SealFlags, self: Command) => {
    const format = parseFormat(flags.format);
    checkFlags(flags, self);
    const folder = await inputFolder(flags);
    if (folder !== undefined) {
      await sealFolder(flags, folder, format);
      return;
    }
    const { target, startDir } = configTarget(flags);
    const recipients = await sealRecipients(flags).resolve(target, startDir);
    if (flags.mergeInto !== undefined) await mergeInto(flags, flags.mergeInto, recipients);
    else await sealInput(flags, format, recipients);
  });
}

/** `seal --merge-into SEALED`: adds or replaces the input's values in the sealed file, in place. */
async function mergeInto(flags: SealFlags, target: string, { scope, wrappers }: SealRecipients): Promise<void> {
  const secrets = await readSecrets(flags);
  const text = await readText(target);
  const out = await mergeSecretsInto(text, target, secrets, {
    wrappers,
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    ...(flags.scope === undefined ? {} : { scope }),
  });
  checkNoPlaintext(out, flags.output ?? target, plaintextValues(secrets));
  await writeOutput(flags.output ?? target, out);
}

/** `seal`: seals a file, standard input or the command line's Secret, to -o or standard output. */
async function sealInput(flags: SealFlags, format: OutputFormat, { scope, wrappers }: SealRecipients): Promise<void> {
  const { docs, source } = await readDocuments(flags);
  const seen: SecretData[] = [];
  const out = await sealDocuments(docs, source, {
    scope,
    wrappers,
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    ...(flags.name === undefined || isLiteral(flags) ? {} : { name: flags.name }),
    seen: (s) => seen.push(s),
  });
  // After sealing, so that a Secret nested in another object is named as such.
  requireSecret(summarizeInput(docs), source);
  const text = stringifyDocuments(out, format);
  checkNoPlaintext(text, flags.output === undefined || flags.output === '-' ? 'standard output' : flags.output, plaintextValues(seen));
  await writeOutput(flags.output, text);
}

/**
 * Refuses flags that contradict each other, or name no valid Secret: a
 * contradiction is a usage error (exit 2), an invalid name an INPUT error.
 */
function checkFlags(flags: SealFlags, cmd: Command): void {
  if (isLiteral(flags) && cmd.getOptionValueSource('file') === 'cli') {
    usageError(cmd, `--from-literal/--from-file build a Secret from the command line, and -f ${flags.file ?? '-'} reads one from a file: pass one or the other`);
  }
  // As kubectl: a key given twice is refused, not silently the last one.
  const keyOf = (spec: string, file: boolean): string => {
    const eq = spec.indexOf('=');
    return eq > 0 ? spec.slice(0, eq) : file ? basename(spec) : '';
  };
  const keys = [...flags.fromLiteral.map((l) => keyOf(l, false)), ...flags.fromFile.map((f) => keyOf(f, true))].filter((k) => k !== '');
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined) usageError(cmd, `key "${twice.slice(0, 64)}" is given twice by --from-literal/--from-file; give each key once`);
  if (flags.name !== undefined && !isObjectName(flags.name)) {
    throw new SealboxError('INPUT', `--name "${flags.name.slice(0, 64)}" is not a valid Secret name: use a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)`);
  }
  if (flags.namespace !== undefined && !isNamespaceName(flags.namespace)) {
    throw new SealboxError('INPUT', `--namespace "${flags.namespace.slice(0, 64)}" is not a valid namespace: use a DNS-1123 label (lowercase letters, digits and "-", at most 63)`);
  }
}

function parseFormat(s: string): OutputFormat {
  if (s !== 'yaml' && s !== 'json') throw new SealboxError('INPUT', `--format ${s}: use yaml or json`);
  return s;
}
