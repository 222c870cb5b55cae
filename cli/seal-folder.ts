/**
 * `seal -f FOLDER`: seals every manifest file below the folder in one
 * process. With `-o OUT` each file is written to the same relative path
 * under OUT (extension following --format), otherwise all documents go to
 * standard output as one stream. Every file is sealed before anything is
 * written, so a bad file leaves no output at all; each output file is
 * written atomically. Recipients come from --cert/--kms, else from the
 * `.sealbox.yaml` rule matching each output (or input) file.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { SealboxError } from '../src/errors.js';
import { PlaintextIndex, checkNoPlaintextDocuments, plaintextValues } from '../src/format/cleartext.js';
import { sealDocuments, summarizeInput } from '../src/format/documents.js';
import type { SecretData } from '../src/format/secret.js';
import type { OutputFormat } from '../src/format/yaml.js';
import { stringifyDocuments } from '../src/format/yaml.js';
import { writeFileAtomic, writeOutput } from './io.js';
import { forEachLimit } from './pool.js';
import type { RecipientResolver } from './recipient-resolver.js';
import { fileDocuments, manifestFiles, requireSecret } from './seal-input.js';
import type { SealRecipientFlags, SealRecipients } from './seal-recipients.js';
import { sealRecipients } from './seal-recipients.js';

/** The flags of `seal` that matter with a folder `-f`. */
export interface SealFolderFlags extends SealRecipientFlags {
  output?: string;
  mergeInto?: string;
  name?: string;
  namespace?: string;
}

/** Output files written at once, so the file system can batch the flushes. */
const WRITERS = 16;

interface SealedFile {
  readonly path: string;
  readonly docs: unknown[];
}

/**
 * Seals the folder `dir` (see the module comment). Throws SealboxError
 * ('INPUT') for flags that take one file, an `-o` inside the folder or not
 * a folder, a folder with no manifest or no Secret; what sealing throws; and
 * ('IO') when an output cannot be written.
 */
export async function sealFolder(flags: SealFolderFlags, dir: string, format: OutputFormat): Promise<void> {
  const outDir = await checkFolderFlags(flags, dir);
  const files = await manifestFiles(dir);
  const { outputs, seen } = await sealFiles(flags, dir, files, (file) => (outDir === undefined ? undefined : outputPath(outDir, relative(dir, file), format)));
  // Every output is checked for every value sealed, before anything is written.
  const values = new PlaintextIndex(plaintextValues(seen));
  if (outDir === undefined) {
    const docs = outputs.flatMap((o) => o.docs);
    checkNoPlaintextDocuments(docs, 'standard output', values);
    await writeOutput(undefined, stringifyDocuments(docs, format));
    return;
  }
  const texts = outputs.map((o) => {
    // Output written from scratch: the documents are checked, not their text parsed again.
    checkNoPlaintextDocuments(o.docs, o.path, values);
    return { path: o.path, text: stringifyDocuments(o.docs, format) };
  });
  for (const d of new Set(outputs.map((o) => dirname(o.path)))) {
    await mkdir(d, { recursive: true }).catch((cause: unknown) => {
      throw new SealboxError('IO', `cannot create folder ${d}`, { cause });
    });
  }
  // Each file is written atomically (temporary file, fsync, rename).
  await forEachLimit(texts, WRITERS, (o) => writeFileAtomic(o.path, o.text));
}

/** Refuses flags that take one file; returns the output folder (-o), undefined for standard output. */
async function checkFolderFlags(flags: SealFolderFlags, dir: string): Promise<string | undefined> {
  if (flags.mergeInto !== undefined) throw new SealboxError('INPUT', `--merge-into takes one sealed file; -f ${dir} is a folder`);
  if (flags.name !== undefined) throw new SealboxError('INPUT', `--name renames one Secret; -f ${dir} is a folder`);
  const outDir = flags.output === undefined || flags.output === '-' ? undefined : flags.output;
  if (outDir === undefined) return undefined;
  const rel = relative(resolve(dir), resolve(outDir));
  if (rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep))) {
    throw new SealboxError('INPUT', `-o ${outDir} is inside the folder being sealed (${dir}); write the sealed files to a folder outside it`);
  }
  const st = await stat(outDir).catch(() => undefined);
  if (st !== undefined && !st.isDirectory()) throw new SealboxError('INPUT', `-o ${outDir}: with a folder -f, -o must be a folder (it is created when missing)`);
  return outDir;
}

/**
 * Seals each file in turn, for the recipients of its output path (`pathOf`,
 * undefined for standard output) or else of the file itself. Returns the
 * sealed documents per output and every Secret sealed.
 */
async function sealFiles(
  flags: SealFolderFlags,
  dir: string,
  files: readonly string[],
  pathOf: (file: string) => string | undefined,
): Promise<{ outputs: SealedFile[]; seen: SecretData[] }> {
  let recipients: RecipientResolver<SealRecipients> | undefined;
  const outputs: SealedFile[] = [];
  const seen: SecretData[] = [];
  let secrets = 0;
  for await (const { file, docs } of fileDocuments(files)) {
    const found = summarizeInput(docs);
    secrets += found.secrets + found.sealed;
    const path = pathOf(file) ?? file;
    // Made at the first file, as --scope was always checked there.
    recipients ??= sealRecipients(flags);
    const { scope, wrappers } = await recipients.resolve(path);
    const sealed = await sealDocuments(docs, file, {
      scope,
      wrappers,
      ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
      seen: (s) => seen.push(s),
    });
    outputs.push({ path, docs: sealed });
  }
  if (secrets === 0) requireSecret({ secrets, sealed: 0, others: [] }, dir);
  return { outputs, seen };
}

/** `rel` under `outDir`, its extension following the output format. */
function outputPath(outDir: string, rel: string, format: OutputFormat): string {
  const ext = extname(rel);
  const wanted = format === 'json' ? '.json' : ext === '.json' ? '.yaml' : ext;
  return join(outDir, rel.slice(0, rel.length - ext.length) + wanted);
}
