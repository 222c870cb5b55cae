import type { Command } from 'commander';
import { SealboxError, isSealboxError } from '../../src/errors.js';
import { parseSealedDocument } from '../../src/format/documents.js';
import { editSealedFile } from '../../src/format/edit.js';
import type { SealedChange } from '../../src/format/edit.js';
import { checkCompactAnswer } from '../../src/format/compact.js';
import { checkRewrapAnswer } from '../../src/format/rewrap-check.js';
import type { SealedSecret } from '../../src/format/sealed.js';
import { isSealedManifest, parseSealedSecret } from '../../src/format/sealed.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { addClusterOptions, controllerBase, requestRewrap } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { readText, writeFileAtomic } from '../io.js';
import { walkManifests } from '../walk.js';

/** Registers `sealbox reseal`. */
export function registerReseal(program: Command): void {
  addClusterOptions(
    program
      .command('reseal')
      .description("re-wrap sealed files to the controller's newest key, touching only the recipients blocks (no decrypt rights needed); an answer that changes anything else is refused and nothing is written")
      .argument('[paths...]', 'sealed files or folders', ['.'])
      .option('--dry-run', 'report what would change, write nothing')
      .option('--compact', 'also have the controller seal every value of a resource with several data-key groups (--merge-into history) again under one new data key, for its newest key: unsealing then costs one key operation. Refused for a resource with a KMS or another cluster\'s recipient (they would lose access)'),
  ).action(async (paths: string[], flags: ResealFlags) => {
    if (flags.controllerUrl !== undefined) controllerBase(flags.controllerUrl);
    const { outputs, seen, compacted } = await resealAll(paths, flags);
    const verb = flags.dryRun === true ? 'would reseal' : 'resealed';
    // Every answer is checked before the first file is written: one refused
    // answer leaves the whole tree as it was.
    for (const o of outputs) {
      process.stderr.write(`${verb} ${o.file}\n`);
      if (flags.dryRun !== true) await writeFileAtomic(o.file, o.text);
    }
    const merged = flags.compact === true ? `, ${compacted} ${flags.dryRun === true ? 'to compact' : 'compacted'}` : '';
    process.stderr.write(`${outputs.length} file(s) ${flags.dryRun === true ? 'to reseal' : 'resealed'}, ${seen} sealed resource(s) checked${merged}\n`);
  });
}

type ResealFlags = ClusterFlags & { dryRun?: boolean; compact?: boolean };

/**
 * Asks the controller to re-wrap every sealed resource under `paths` (with
 * --compact, to compact each that has several data-key groups); returns the
 * new text of each file that changes, and counts.
 */
async function resealAll(paths: readonly string[], flags: ResealFlags): Promise<{ outputs: { file: string; text: string }[]; seen: number; compacted: number }> {
  const outputs: { file: string; text: string }[] = [];
  let seen = 0;
  let compacted = 0;
  for (const p of paths) {
    for await (const file of walkManifests(p)) {
      const text = await readText(file);
      if (!text.includes('sealbox.dev/')) continue;
      const docs = parseDocuments(text, file);
      const changes: SealedChange[] = [];
      for (const d of docs) {
        if (!isSealedManifest(d.value)) continue;
        seen++;
        const { sealed: before, what } = parseSealedDocument(d.value, file, d.index);
        const compact = flags.compact === true && before.dataKeys.length > 1;
        const after = parseAnswer(await requestRewrap(flags, JSON.stringify(d.value), compact), what);
        if (compact) {
          checkCompactAnswer(before, after, what);
          compacted++;
        } else checkRewrapAnswer(before, after, what);
        changes.push({ doc: d, before, after });
      }
      const next = editSealedFile(text, docs, changes);
      if (next !== text) outputs.push({ file, text: next });
    }
  }
  return { outputs, seen, compacted };
}

/** Parses the controller's answer. Throws SealboxError('PROVIDER') when it is not one valid sealed resource. */
function parseAnswer(body: string, what: string): SealedSecret {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new SealboxError('PROVIDER', `${what}: the controller's answer is not JSON; nothing written. Check --controller-url and the controller's version`);
  }
  try {
    return parseSealedSecret(value, `the controller's answer for ${what}`);
  } catch (err) {
    if (isSealboxError(err)) throw new SealboxError('PROVIDER', `${err.message}; nothing written`, { cause: err });
    throw err;
  }
}
