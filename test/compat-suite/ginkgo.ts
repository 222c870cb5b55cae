// Runs Sealed Secrets' own integration suite (a Ginkgo test binary built by
// test/cluster/ss-suite.sh) and reads its JSON report: one result per spec.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A spec of the suite and how it ended. */
export interface SpecResult {
  /** Containers and leaf text joined by spaces: Ginkgo's full spec text. */
  readonly name: string;
  /** 'controller' (Describe "create", "controller --version") or 'kubeseal'. */
  readonly group: 'controller' | 'kubeseal';
  /** Ginkgo's SpecState: passed, failed, skipped, pending, panicked, timedout, … */
  readonly state: string;
  /** The failure message and location, '' when it passed. */
  readonly failure: string;
  readonly runTimeMs: number;
}

interface GinkgoSpecReport {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeType?: string;
  LeafNodeText?: string;
  State?: string;
  RunTime?: number;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
}

interface GinkgoReport {
  SpecReports?: GinkgoSpecReport[] | null;
}

function toResult(r: GinkgoSpecReport): SpecResult {
  const containers = r.ContainerHierarchyTexts ?? [];
  const top = containers[0] ?? '';
  const where = r.Failure?.Location?.FileName === undefined ? '' : ` (${r.Failure.Location.FileName.split('/').pop() ?? ''}:${String(r.Failure.Location.LineNumber ?? 0)})`;
  return {
    name: [...containers, r.LeafNodeText ?? ''].join(' '),
    group: top.startsWith('kubeseal') ? 'kubeseal' : 'controller',
    state: r.State ?? 'unknown',
    failure: r.State === 'passed' ? '' : `${r.Failure?.Message ?? ''}${where}`.trim(),
    runTimeMs: Math.round((r.RunTime ?? 0) / 1e6),
  };
}

/**
 * Returns the specs of a Ginkgo JSON report file (It nodes only, not the
 * suite's setup nodes), in report order.
 * @throws {Error} when the file is missing or not a Ginkgo report
 */
export function readReport(file: string): SpecResult[] {
  if (!existsSync(file)) throw new Error(`no ginkgo report at ${file}: the suite did not get as far as writing it`);
  const reports = JSON.parse(readFileSync(file, 'utf8')) as GinkgoReport[];
  return reports.flatMap((r) => r.SpecReports ?? []).filter((s) => s.LeafNodeType === 'It').map(toResult);
}

/**
 * Lists the suite's specs without running them (`--ginkgo.dry-run`): what
 * the suite holds, whatever a run later does.
 * @throws {Error} when the binary fails to list them
 */
export function listSpecs(binary: string, dir: string): SpecResult[] {
  const report = join(dir, 'dry-run.json');
  const r = spawnSync(binary, ['-ginkgo.dry-run', `-ginkgo.json-report=${report}`, '-ginkgo.no-color'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${binary} -ginkgo.dry-run exited ${String(r.status)}: ${r.stderr.slice(-2000)}`);
  return readReport(report);
}

/** Options of runSuite. */
export interface SuiteRun {
  readonly binary: string;
  /** Where the JSON report and the verbose output go. */
  readonly dir: string;
  readonly kubeconfig: string;
  readonly kubesealBin: string;
  readonly controllerBin: string;
  /** The controller's namespace (`-namespace`), where the suite reads the keys. */
  readonly namespace: string;
  /** Specs to skip (`-ginkgo.skip`, a regular expression), if any. */
  readonly skip?: string;
  readonly timeoutMs: number;
}

/**
 * Runs the suite with a JSON report and verbose output in `dir/suite.log`;
 * resolves with its exit status once it ends (non-zero when a spec failed).
 */
export async function runSuite(o: SuiteRun): Promise<{ status: number | null; log: string; report: string }> {
  const report = join(o.dir, 'suite.json');
  const log = join(o.dir, 'suite.log');
  const args = [
    '-kubeconfig', o.kubeconfig, '-kubeseal-bin', o.kubesealBin, '-controller-bin', o.controllerBin, '-namespace', o.namespace,
    '-ginkgo.v', '-ginkgo.no-color', `-ginkgo.json-report=${report}`, `-ginkgo.timeout=${String(Math.round(o.timeoutMs / 1000))}s`,
    ...(o.skip === undefined ? [] : [`-ginkgo.skip=${o.skip}`]),
  ];
  const out = createWriteStream(log);
  // the suite writes temporary kubeconfigs and certificates under TMPDIR
  const child = spawn(o.binary, args, { cwd: o.dir, env: { ...process.env, TMPDIR: o.dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => { resolve(code); }));
  out.end();
  return { status, log, report };
}
