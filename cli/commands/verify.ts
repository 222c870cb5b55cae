import type { Command } from 'commander';
import { SealboxError, isSealboxError } from '../../src/errors.js';
import type { Finding } from '../../src/format/verify.js';
import { verifyDocuments } from '../../src/format/verify.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { readText } from '../io.js';
import { walkManifests } from '../walk.js';

/** Checks one file; a file that is not YAML is a finding only if it claims to hold sealbox or Secret documents. */
async function verifyFile(path: string): Promise<Finding[]> {
  const text = await readText(path);
  try {
    return verifyDocuments(path, parseDocuments(text, path));
  } catch (err) {
    if (isSealboxError(err, 'INPUT') && /sealbox\.dev\/|kind:\s*Secret\b/.test(text)) {
      return [{ source: path, document: 0, message: err.message }];
    }
    if (isSealboxError(err, 'INPUT')) return [];
    throw err;
  }
}

/** Registers `sealbox verify`. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check files and folders for plaintext Secrets and malformed or inconsistent sealed resources')
    .argument('[paths...]', 'files or folders', ['.'])
    .action(async (paths: string[]) => {
      let count = 0;
      let files = 0;
      for (const p of paths) {
        for await (const file of walkManifests(p)) {
          files++;
          for (const f of await verifyFile(file)) {
            count++;
            process.stdout.write(`${f.source}:${f.document}: ${f.message}\n`);
          }
        }
      }
      if (count > 0) {
        throw new SealboxError('FINDINGS', `${count} problem(s) in ${files} file(s) checked`);
      }
      process.stderr.write(`ok: ${files} file(s) checked, no problems\n`);
    });
}
