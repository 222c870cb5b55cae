import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import { parseSealedDocument } from '../../src/format/documents.js';
import { editSealedFile } from '../../src/format/edit.js';
import type { SealedChange } from '../../src/format/edit.js';
import { isSealedManifest, parseSealedSecret } from '../../src/format/sealed.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { addClusterOptions, requestRewrap } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { readText, writeFileAtomic } from '../io.js';
import { walkManifests } from '../walk.js';

/** Registers `sealbox reseal`. */
export function registerReseal(program: Command): void {
  addClusterOptions(
    program
      .command('reseal')
      .description("re-wrap sealed files to the controller's newest key, touching only the recipients blocks (no decrypt rights needed)")
      .argument('[paths...]', 'sealed files or folders', ['.'])
      .option('--dry-run', 'report what would change, write nothing'),
  ).action(async (paths: string[], flags: ClusterFlags & { dryRun?: boolean }) => {
    let changed = 0;
    let seen = 0;
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
          const after = parseSealedSecret(JSON.parse(await requestRewrap(flags, JSON.stringify(d.value))), what);
          if (after.name !== before.name || after.namespace !== before.namespace || after.encryptedData.size !== before.encryptedData.size) {
            throw new SealboxError('PROVIDER', `${what}: the controller returned another resource; nothing written`);
          }
          changes.push({ doc: d, before, after });
        }
        const next = editSealedFile(text, docs, changes);
        if (next === text) continue;
        changed++;
        process.stderr.write(`${flags.dryRun === true ? 'would reseal' : 'resealed'} ${file}\n`);
        if (flags.dryRun !== true) await writeFileAtomic(file, next);
      }
    }
    process.stderr.write(`${changed} file(s) ${flags.dryRun === true ? 'to reseal' : 'resealed'}, ${seen} sealed resource(s) checked\n`);
  });
}
