import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { unsealDocuments } from '../../src/format/documents.js';
import type { OutputFormat } from '../../src/format/yaml.js';
import { parseDocuments, stringifyDocuments } from '../../src/format/yaml.js';
import { readText, writeOutput } from '../io.js';
import { collect } from '../options.js';
import { keyUnwrappers } from '../recipients.js';

interface UnsealFlags {
  key: string[];
  file: string;
  output?: string;
  format: string;
}

/** Registers `sealbox unseal`. */
export function registerUnseal(program: Command): void {
  program
    .command('unseal')
    .description('turn sealed resources back into Secret manifests (recovery path for key holders)')
    .option('--key <file>', 'private key (PEM); repeat for several keys', collect, [])
    .option('-f, --file <file>', 'sealed file(s); - for stdin', '-')
    .option('-o, --output <file>', 'write here (mode 0600, atomically) instead of stdout')
    .option('--format <format>', 'yaml | json', 'yaml')
    .action(async (flags: UnsealFlags) => {
      if (flags.format !== 'yaml' && flags.format !== 'json') throw new SealboxError('INPUT', `--format ${flags.format}: use yaml or json`);
      const format: OutputFormat = flags.format;
      if (flags.key.length === 0) throw new SealboxError('INPUT', 'no keys: pass --key with a private key file');
      const unwrappers = await keyUnwrappers(flags.key);
      const source = flags.file === '-' ? 'standard input' : flags.file;
      const docs = parseDocuments(await readText(flags.file), source);
      const out = await unsealDocuments(docs, source, unwrappers);
      // Plaintext output: private to the user.
      await writeOutput(flags.output, stringifyDocuments(out, format), 0o600);
    });
}
