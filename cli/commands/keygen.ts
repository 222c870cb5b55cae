import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { exists, writeFileAtomic } from '../io.js';
import { parseIntOption } from '../options.js';

interface KeygenOptions {
  keyOut: string;
  certOut: string;
  days: number;
  bits: number;
  cn: string;
  force?: boolean;
}

/** Registers `sealbox keygen`. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate an RSA key pair and a self-signed certificate for sealing')
    .requiredOption('--key-out <file>', 'where to write the private key (PEM, mode 0600)')
    .requiredOption('--cert-out <file>', 'where to write the certificate (PEM)')
    .option('--days <n>', 'certificate validity in days', parseIntOption, 3650)
    .option('--bits <n>', 'RSA key size', parseIntOption, 4096)
    .option('--cn <name>', 'certificate common name', 'sealbox')
    .option('--force', 'overwrite existing files')
    .action(async (opts: KeygenOptions) => {
      for (const path of [opts.keyOut, opts.certOut]) {
        if (opts.force !== true && (await exists(path))) {
          throw new SealboxError('IO', `${path} exists; pass --force to overwrite it`);
        }
      }
      const key = await generateSealingKey({ bits: opts.bits, days: opts.days, commonName: opts.cn });
      await writeFileAtomic(opts.keyOut, key.privateKeyPem, 0o600);
      await writeFileAtomic(opts.certOut, key.certificatePem, 0o644);
      process.stderr.write(`wrote ${opts.keyOut} (private, keep it safe) and ${opts.certOut}\nfingerprint ${key.fingerprint}\n`);
    });
}
