import type { Command } from 'commander';
import { SealboxError, isSealboxError, withAdvice } from '../../src/errors.js';
import type { Finding } from '../../src/format/verify.js';
import { compactionHints, verifyDocuments } from '../../src/format/verify.js';
import { parseDocuments, problemLine } from '../../src/format/yaml.js';
import { collect } from '../options.js';
import { cliAdvice } from '../hints.js';
import { printable } from '../terminal.js';
import { chartTemplateReason, verifyTargets } from '../verify-targets.js';

interface VerifyFlags {
  staged?: boolean;
  exclude: string[];
  output: string;
}

/** What one run found, as `--output json` prints it. */
interface VerifyReport {
  checked: number;
  skipped: { path: string; reason: string }[];
  findings: { path: string; line: number; document: number; message: string }[];
  /** Suggestions that do not fail the run (a resource worth compacting). */
  hints: { path: string; line: number; document: number; message: string }[];
}

/** What checking one file gave. */
interface Checked {
  readonly findings: Finding[];
  readonly hints: Finding[];
}

/**
 * Checks one file's text. A file that is not YAML is a finding only if it
 * claims to hold sealbox or Secret documents; one that holds template
 * markup (`{{ }}`) is skipped instead: it is not a manifest until rendered.
 */
function verifyText(path: string, text: string): Checked | { skipped: string } {
  try {
    const docs = parseDocuments(text, path);
    return { findings: verifyDocuments(path, docs), hints: compactionHints(path, docs) };
  } catch (err) {
    if (!isSealboxError(err, 'INPUT')) throw err;
    if (text.includes('{{')) return { skipped: 'template markup ({{ }}), not YAML until rendered' };
    // The report names the file already: drop the message's own "FILE " prefix.
    const message = err.message.startsWith(`${path} `) ? err.message.slice(path.length + 1) : err.message;
    if (/sealbox\.dev\/|kind["']?\s*:\s*["']?Secret\b/i.test(text)) return { findings: [{ source: path, document: 0, line: problemLine(text), message }], hints: [] };
    return { findings: [], hints: [] };
  }
}

async function runVerify(paths: readonly string[], flags: VerifyFlags): Promise<VerifyReport> {
  const report: VerifyReport = { checked: 0, skipped: [], findings: [], hints: [] };
  for await (const t of verifyTargets(paths, flags.staged === true, flags.exclude)) {
    const chart = await chartTemplateReason(t.diskPath);
    const result = chart === undefined ? verifyText(t.path, await t.read()) : { skipped: chart };
    if ('skipped' in result) {
      report.skipped.push({ path: t.path, reason: result.skipped });
      continue;
    }
    report.checked++;
    for (const f of result.findings) report.findings.push({ path: f.source, line: f.line, document: f.document, message: f.hint === undefined ? f.message : withAdvice(f.message, cliAdvice(f.hint)) });
    for (const h of result.hints) report.hints.push({ path: h.source, line: h.line, document: h.document, message: h.message });
  }
  return report;
}

function printText(r: VerifyReport): void {
  // file names and messages may quote what an attacker chose: one safe line each
  for (const f of r.findings) process.stdout.write(`${printable(`${f.path}:${f.line}: ${f.message}`, 2000)}\n`);
  for (const h of r.hints) process.stderr.write(`${printable(`hint: ${h.path}:${h.line}: ${h.message}`, 2000)}\n`);
  for (const s of r.skipped) process.stderr.write(`skipped ${printable(s.path, 1000)}: ${s.reason} (check the rendered output, or --exclude it)\n`);
}

/** Registers `sealbox verify`. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check files and folders for plaintext Secrets and malformed or inconsistent sealed resources')
    .argument('[paths...]', 'files or folders (default: the current folder)')
    .option('--staged', "check what git is about to commit (the index's staged blobs), not the working tree; for pre-commit hooks")
    .option('--exclude <glob>', 'skip files or folders matching this pattern (e.g. charts, "legacy/**/*.yaml"); repeatable', collect, [])
    .option('--output <format>', 'text | json (the report on stdout)', 'text')
    .action(async (args: string[], flags: VerifyFlags) => {
      if (flags.output !== 'text' && flags.output !== 'json') throw new SealboxError('INPUT', `--output ${flags.output}: use text or json`);
      if (flags.staged === true && args.length > 0) throw new SealboxError('INPUT', 'verify --staged checks every staged file; pass no paths (use --exclude to leave some out)');
      const report = await runVerify(args.length === 0 ? ['.'] : args, flags);
      if (flags.output === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else printText(report);
      const skipped = report.skipped.length > 0 ? `, ${report.skipped.length} template(s) skipped` : '';
      if (report.findings.length > 0) {
        throw new SealboxError('FINDINGS', `${report.findings.length} problem(s) in ${report.checked} file(s) checked${skipped}`);
      }
      process.stderr.write(`ok: ${report.checked} file(s) checked${skipped}, no problems\n`);
    });
}
