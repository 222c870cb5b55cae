import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { exists, writeFileAtomic } from '../io.js';
import { parseIntOption, usageError } from '../options.js';

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
    .action(async (opts: KeygenOptions, cmd: Command) => {
      if ((await canonicalPath(opts.keyOut)) === (await canonicalPath(opts.certOut))) {
        usageError(cmd, `--key-out and --cert-out name the same file (${opts.keyOut}); the certificate would replace the private key: give two different files`);
      }
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

/**
 * The path with symbolic links resolved: of the file when it exists, else
 * of its folder (the file is created there). Two names of one file give
 * the same result.
 */
async function canonicalPath(path: string): Promise<string> {
  const full = resolve(path);
  const real = await realpath(full).catch(() => undefined);
  if (real !== undefined) return real;
  const dir = await realpath(dirname(full)).catch(() => dirname(full));
  return join(dir, basename(full));
}
