import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { addClusterOptions } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { registerSopsOptions, runSopsConversion } from './convert-sops.js';
import type { SopsConvertFlags } from './convert-sops.js';

type ConvertFlags = ClusterFlags & SopsConvertFlags;

/** Registers `sealbox convert` (Bitnami SealedSecrets, or sops files with --from-sops, → sealbox SealedSecrets). */
export function registerConvert(program: Command): void {
  const cmd = addClusterOptions(
    program
      .command('convert')
      .description('turn Bitnami SealedSecret files (or sops files, with --from-sops) into sealbox SealedSecrets; Bitnami values are converted by the controller, which answers only ciphertext')
      .argument('[paths...]', 'files or folders', ['.'])
      .option('--from-sops', 'the inputs are sops-encrypted Secret manifests (AWS KMS or Azure Key Vault), opened with your own KMS rights')
      .option('--dry-run', 'report what would change, write nothing')
      .option('--check', 'write nothing; exit 10 when any file still needs converting (for CI)'),
  );
  registerSopsOptions(cmd).action(async (paths: string[], flags: ConvertFlags) => {
    if (flags.fromSops === true) {
      await runSopsConversion(paths, flags);
      return;
    }
    throw new SealboxError('INPUT', 'convert: converting Bitnami files is not yet implemented in this build');
  });
}
