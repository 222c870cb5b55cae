import type { Command } from 'commander';
import { SealboxError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { parseSealedDocument } from '../../src/format/documents.js';
import { isSealedManifest } from '../../src/format/sealed.js';
import { expandLists } from '../../src/format/secret.js';
import { parseDocuments } from '../../src/format/yaml.js';
import { addClusterOptions, controllerBase, parseRefusal, postToController } from '../cluster.js';
import type { ClusterFlags } from '../cluster.js';
import { readText } from '../io.js';
import { collect } from '../options.js';
import { printable } from '../terminal.js';

interface ValidateFlags extends ClusterFlags {
  file: string[];
}

/** One sealed resource to ask about: how messages name it, and the manifest sent. */
interface Item {
  readonly what: string;
  readonly manifest: string;
}

/** The controller's verdict on one resource. */
type Verdict = { readonly ok: true } | { readonly ok: false; readonly code: ErrorCode; readonly error: string };

/** Registers `sealbox validate`. */
export function registerValidate(program: Command): void {
  addClusterOptions(
    program
      .command('validate')
      .description('ask the controller whether it can unseal each sealed resource (as kubeseal --validate): one line per resource, "ok" or why not; the controller never answers a value. Exit 10 when any cannot be unsealed')
      .option('-f, --file <file>', 'sealed file (multi-document); - for stdin; repeatable (default: stdin)', collect, []),
  ).action(async (flags: ValidateFlags) => {
    if (flags.controllerUrl !== undefined) controllerBase(flags.controllerUrl);
    const items = await readItems(flags.file.length === 0 ? ['-'] : flags.file);
    let failed = 0;
    for (const item of items) {
      const v = await askController(flags, item);
      if (!v.ok) failed++;
      // The controller's message may quote what the file's author chose: one safe line.
      process.stdout.write(`${printable(v.ok ? `ok: ${item.what}` : `cannot unseal: ${item.what}: ${v.error} (${v.code})`, 2000)}\n`);
    }
    if (failed > 0) throw new SealboxError('FINDINGS', `the controller cannot unseal ${failed} of ${items.length} sealed resource(s)`);
    process.stderr.write(`ok: the controller can unseal all ${items.length} sealed resource(s)\n`);
  });
}

/** Reads every sealed resource of `files` (List items too). Throws SealboxError('INPUT') for a file with none. */
async function readItems(files: readonly string[]): Promise<Item[]> {
  if (files.filter((f) => f === '-').length > 1) throw new SealboxError('INPUT', '-f - is given twice: standard input can be read once');
  const items: Item[] = [];
  for (const file of files) {
    const source = file === '-' ? 'standard input' : file;
    const docs = parseDocuments(await readText(file), source);
    const before = items.length;
    for (const d of docs) {
      for (const v of expandLists([d.value], `${source} document ${d.index}`).filter(isSealedManifest)) {
        items.push({ what: parseSealedDocument(v, source, d.index).what, manifest: JSON.stringify(v) });
      }
    }
    if (items.length === before) throw new SealboxError('INPUT', `${source} has no sealbox sealed secret to validate`);
  }
  return items;
}

/**
 * POSTs one resource to /v1/validate. Resolves with the verdict (200: ok,
 * 409: cannot unseal, with the controller's code and reason); throws
 * SealboxError('PROVIDER') for any other answer.
 */
async function askController(flags: ClusterFlags, item: Item): Promise<Verdict> {
  const { status, body } = await postToController(flags, '/v1/validate', item.manifest);
  if (status === 200) return { ok: true };
  if (status === 409) {
    const r = parseRefusal(body);
    return { ok: false, code: r.code, error: r.error };
  }
  const reason = printable(body.split('\n')[0]?.replace(/^error: /, '') ?? '', 300);
  const hint = status === 404 ? '; the controller may be older than this CLI: upgrade it' : '';
  throw new SealboxError('PROVIDER', `${item.what}: the controller refused to validate (HTTP ${status}): ${reason}${hint}`);
}
