import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { EXIT_CODES, SealboxError, isSealboxError } from '../../src/errors.js';
import { findConfig } from '../config.js';
import { cliMessage } from '../hints.js';
import { readText, writeFileAtomic } from '../io.js';
import { collect, parseIntOption } from '../options.js';
import { forEachLimit } from '../pool.js';
import { keyUnwrappers } from '../recipients.js';
import { walkManifests } from '../walk.js';
import type { FileReport } from '../rotate-report.js';
import { Progress, errorLines, removeStaleTemporaries, summarize, textLine, textReport } from '../rotate-report.js';
import { RotationPlanner } from '../rotate-targets.js';

interface RotateFlags {
  toKms: string[];
  toCert: string[];
  removeRecipient: string[];
  key: string[];
  newDataKey?: boolean;
  dryRun?: boolean;
  check?: boolean;
  output: string;
  quiet?: boolean;
  concurrency: number;
  insecureHttp?: boolean;
}

/** Registers `sealbox rotate`. */
export function registerRotate(program: Command): void {
  program
    .command('rotate')
    .description('re-wrap the data keys of sealed files for a new recipient set (KMS or certificates), touching only the recipients blocks')
    .argument('[paths...]', 'sealed files or folders', ['.'])
    .option('--to-kms <spec>', 'recipient every file must have: aws:KEY_ARN_OR_ALIAS or azure:https://VAULT/keys/NAME (newest version; older versions of it are replaced); repeatable', collect, [])
    .option('--to-cert <cert>', 'cluster certificate every file must have (file or http(s) URL); repeatable', collect, [])
    .option('--remove-recipient <id>', 'recipient to remove: aws:ARN, azure:KEY_ID (any version without one), a certificate fingerprint (12+ hex digits) or file; repeatable', collect, [])
    .option('--key <file>', 'private key (PEM) of a cert recipient, to unwrap with; KMS recipients use the default credentials', collect, [])
    .option('--new-data-key', 'seal every value again under a fresh data key (when a key may have leaked); needs every remaining recipient known')
    .option('--dry-run', 'report what would change, write nothing')
    .option('--check', 'write nothing; exit 10 when any file still needs rotation (for CI)')
    .option('--output <format>', 'text | json (a report on stdout)', 'text')
    .option('-q, --quiet', 'text output: no progress and no list of files; only errors')
    .option('--concurrency <n>', 'files processed at once', parseIntOption, 8)
    .option('--insecure-http', 'allow a .sealbox.yaml rule to fetch a certificate over plain http (cert:http://…)')
    .action(async (paths: string[], flags: RotateFlags) => {
      if (flags.output !== 'text' && flags.output !== 'json') throw new SealboxError('INPUT', `--output ${flags.output}: use text or json`);
      if (flags.concurrency < 1) throw new SealboxError('INPUT', '--concurrency must be at least 1');
      await runRotation(paths, flags);
    });
}

async function folderOf(path: string): Promise<string> {
  const st = await stat(path).catch(() => undefined);
  return st?.isDirectory() === true ? path : dirname(path);
}

async function listFiles(paths: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  for (const p of paths) for await (const f of walkManifests(p)) seen.add(f);
  return [...seen];
}

async function runRotation(paths: readonly string[], flags: RotateFlags): Promise<void> {
  const write = flags.dryRun !== true && flags.check !== true;
  const told = flags.toKms.length + flags.toCert.length + flags.removeRecipient.length > 0 || flags.newDataKey === true;
  if (!told && (await Promise.all(paths.map(async (p) => findConfig(await folderOf(p))))).every((c) => c === undefined)) {
    throw new SealboxError('INPUT', 'nothing to rotate to: pass --to-kms, --to-cert, --remove-recipient or --new-data-key, or configure recipients in .sealbox.yaml');
  }
  const planner = await RotationPlanner.create({
    toKms: flags.toKms, toCert: flags.toCert, remove: flags.removeRecipient,
    newDataKey: flags.newDataKey === true, unwrappers: await keyUnwrappers(flags.key), insecureHttp: flags.insecureHttp === true,
  });
  const files = await listFiles(paths);
  const progress = new Progress(files.length, process.stderr, flags.output === 'text' && flags.quiet !== true);
  const reports: FileReport[] = [];
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    // Files being written finish (each write is atomic); no new file starts.
    stopping = sig;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (write) await removeStaleTemporaries(new Set(files.map((f) => dirname(f))));
    await forEachLimit(files, flags.concurrency, async (file) => {
      const report = await rotateFile(file, planner, write);
      if (report !== undefined) reports.push(report);
      progress.tick();
    }, () => stopping !== undefined);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.done();
  }
  reports.sort((a, b) => a.path.localeCompare(b.path));
  const summary = summarize(reports, files.length, stopping !== undefined);
  if (flags.output === 'json') process.stdout.write(`${JSON.stringify({ summary, files: reports }, null, 2)}\n`);
  else {
    if (flags.quiet !== true) process.stdout.write(textReport(reports));
    process.stderr.write(errorLines(reports));
    if (flags.quiet !== true || summary.interrupted) process.stderr.write(`${textLine(summary, write, flags.check === true)}\n`);
  }
  const failed = reports.find((r) => r.error !== undefined);
  if (stopping !== undefined) {
    process.exitCode = stopping === 'SIGINT' ? 130 : 143;
  } else if (failed?.error !== undefined) {
    process.exitCode = EXIT_CODES[failed.error.code];
  } else if (flags.check === true && summary.needsRotation > 0) {
    process.exitCode = EXIT_CODES.FINDINGS;
  }
}

/** Rotates one file; returns its report, or undefined for a file with no sealed resource. */
async function rotateFile(file: string, planner: RotationPlanner, write: boolean): Promise<FileReport | undefined> {
  const report: FileReport = { path: file, status: 'unchanged', resources: [] };
  try {
    const text = await readText(file);
    if (!text.includes('sealbox.dev/')) return undefined;
    const opts = await planner.optionsFor(file);
    if (opts === undefined) return { ...report, status: 'skipped', reason: 'no .sealbox.yaml rule matches it' };
    const result = await planner.rewrite(text, file, opts, write, report);
    if (result.resources === 0) return undefined;
    if (!report.resources.some((r) => r.groups.length > 0)) return report;
    if (!write) return { ...report, status: 'needs-rotation' };
    if (result.text !== text) await writeFileAtomic(file, result.text, (await stat(file)).mode & 0o777);
    return { ...report, status: 'rotated' };
  } catch (err) {
    if (!isSealboxError(err)) throw err;
    return { ...report, status: 'failed', error: { code: err.code, message: cliMessage(err) } };
  }
}
