import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXIT_CODES } from '../../src/errors.js';
import { addClusterOptions, controllerBase } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { bitnamiDocuments, convertText, mentionsBitnami } from '../convert-bitnami.js';
import { readText, writeFileAtomic } from '../io.js';
import { walkManifests } from '../walk.js';
import { registerSopsOptions, runSopsConversion } from './convert-sops.js';
import type { SopsConvertFlags } from './convert-sops.js';

type ConvertFlags = ClusterFlags & SopsConvertFlags;

/** Registers `sealbox convert` (Bitnami SealedSecrets, or sops files with --from-sops, → sealbox SealedSecrets). */
export function registerConvert(program: Command): void {
  const cmd = addClusterOptions(
    program
      .command('convert')
      .description('turn Bitnami SealedSecret files (or sops files, with --from-sops) into sealbox SealedSecrets, in place; Bitnami values are converted by the controller, which answers only ciphertext')
      .argument('[paths...]', 'files or folders', ['.'])
      .option('--from-sops', 'the inputs are sops-encrypted Secret manifests (AWS KMS or Azure Key Vault), opened with your own KMS rights')
      .option('--dry-run', 'convert through the controller and report what would change, write nothing')
      .option('--check', 'write nothing, ask no controller; exit 10 when any file still holds a Bitnami SealedSecret (for CI)'),
  );
  registerSopsOptions(cmd).action(async (paths: string[], flags: ConvertFlags) => {
    if (flags.fromSops === true) {
      await runSopsConversion(paths, flags);
      return;
    }
    if (flags.check === true) await checkBitnami(paths);
    else await convertBitnami(paths, flags);
  });
}

async function listFiles(paths: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  for (const p of paths) for await (const f of walkManifests(p)) seen.add(f);
  return [...seen].sort();
}

/** `--check`: lists the files that still hold a Bitnami SealedSecret; exit 10 when there is one. */
async function checkBitnami(paths: readonly string[]): Promise<void> {
  let pending = 0;
  const files = await listFiles(paths);
  for (const file of files) {
    const text = await readText(file);
    const count = mentionsBitnami(text) ? bitnamiDocuments(text, file).length : 0;
    if (count === 0) continue;
    pending++;
    process.stdout.write(`${file}: ${String(count)} Bitnami SealedSecret(s) to convert\n`);
  }
  process.stderr.write(`${String(pending)} file(s) to convert, ${String(files.length)} file(s) checked\n`);
  if (pending > 0) process.exitCode = EXIT_CODES.FINDINGS;
}

/**
 * Converts every file through the controller; writes (unless --dry-run) only
 * once every answer came back and passed its check, so a refusal leaves
 * the whole tree as it was. Each write is atomic.
 */
async function convertBitnami(paths: readonly string[], flags: ConvertFlags): Promise<void> {
  if (flags.controllerUrl !== undefined) controllerBase(flags.controllerUrl);
  const outputs: { file: string; text: string; converted: number }[] = [];
  const files = await listFiles(paths);
  for (const file of files) {
    const text = await readText(file);
    if (!mentionsBitnami(text)) continue;
    const out = await convertText(text, file, flags);
    if (out.converted > 0) outputs.push({ file, ...out });
  }
  const dry = flags.dryRun === true;
  let total = 0;
  for (const o of outputs) {
    total += o.converted;
    process.stderr.write(`${dry ? 'would convert' : 'converted'} ${o.file} (${String(o.converted)} SealedSecret(s))\n`);
    if (!dry) await writeFileAtomic(o.file, o.text, (await stat(o.file)).mode & 0o777);
  }
  process.stderr.write(`${String(total)} SealedSecret(s) in ${String(outputs.length)} file(s) ${dry ? 'to convert' : 'converted'}, ${String(files.length)} file(s) checked\n`);
}
