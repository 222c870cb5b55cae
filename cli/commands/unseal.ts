import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { parseSealedDocument, unsealDocuments } from '../../src/format/documents.js';
import { isSealedManifest } from '../../src/format/sealed.js';
import { expandLists } from '../../src/format/secret.js';
import type { OutputFormat } from '../../src/format/yaml.js';
import { parseDocuments, stringifyDocuments } from '../../src/format/yaml.js';
import { readText, writeOutput } from '../io.js';
import { unsealUnwrappers } from '../kms.js';
import { collect } from '../options.js';
import { keyUnwrappers } from '../recipients.js';
import { decodeSecrets, environmentOf, toDotenv } from '../unsealed-values.js';

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
    .option('-f, --file <file>', 'sealed file(s); - for stdin', '-')
    .option('-o, --output <file>', 'write here (mode 0600, atomically) instead of stdout')
    .option('--format <format>', 'yaml | json | env (a dotenv file of the values: KEY=value, shell-quoted; keys must be valid variable names)', 'yaml')
    .option('--decode', 'readable stringData instead of base64 data (values that are not UTF-8 text stay in data)')
    .action(async (flags: UnsealFlags) => {
      if (flags.format !== 'yaml' && flags.format !== 'json' && flags.format !== 'env') throw new SealboxError('INPUT', `--format ${flags.format}: use yaml, json or env`);
      const source = flags.file === '-' ? 'standard input' : flags.file;
      const docs = parseDocuments(await readText(flags.file), source);
      const sealed = docs.flatMap((d) => expandLists([d.value]).filter(isSealedManifest).map((v) => parseSealedDocument(v, source, d.index).sealed));
      // KMS stanzas are unwrapped with the keys they name and the default credentials.
      const unwrappers = await unsealUnwrappers(await keyUnwrappers(flags.key), sealed);
      if (unwrappers.length === 0) {
        throw new SealboxError('INPUT', 'no keys: pass --key with a private key file (the input has no KMS recipients to unseal with)');
      }
      const out = await unsealDocuments(docs, source, unwrappers);
      const format: OutputFormat | 'env' = flags.format;
      const text = format === 'env' ? toDotenv(environmentOf(out)) : stringifyDocuments(flags.decode === true ? decodeSecrets(out) : out, format);
      // Plaintext output: private to the user.
      await writeOutput(flags.output, text, 0o600);
    });
}
