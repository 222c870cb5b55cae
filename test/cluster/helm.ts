// The real Helm (helm.sh/helm/v3, built by test/cluster/helm.sh with `go
// install`, cached by version) run on charts/sealbox: lint, template, install,
// upgrade, uninstall. Each run gets its own Helm config, cache and data
// directories, so nothing of the developer's Helm setup is read.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from '../controller/manifests.js';
import { builtTool } from '../helpers/built-tool.js';
import { run } from '../helpers/child.js';
import { clusterPaths } from './control-plane.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The chart under test. */
export const CHART = join(root, 'charts', 'sealbox');

/**
 * Returns the path of the helm binary, running test/cluster/helm.sh first (a
 * no-op when it is cached; the first build takes minutes).
 */
export const helmBinary = builtTool(new URL('./helm.sh', import.meta.url));

let homes: string | undefined;

/** HELM_*_HOME and KUBECONFIG for one helm run. */
function helmEnv(kubeconfig: string | undefined): NodeJS.ProcessEnv {
  homes ??= mkdtempSync(join(tmpdir(), 'sealbox-helm-'));
  return {
    PATH: process.env.PATH,
    HOME: homes,
    HELM_CONFIG_HOME: join(homes, 'config'),
    HELM_CACHE_HOME: join(homes, 'cache'),
    HELM_DATA_HOME: join(homes, 'data'),
    KUBECONFIG: kubeconfig ?? join(homes, 'no-kubeconfig'),
  };
}

/** What one helm command did. */
export interface HelmRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `helm ARGS` to the end against `kubeconfig` (none: offline commands only). */
export async function helm(args: readonly string[], kubeconfig?: string): Promise<HelmRun> {
  const r = await run(helmBinary(), args, { env: helmEnv(kubeconfig), timeoutMs: 120_000 });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/**
 * Runs `helm ARGS` and returns its stdout.
 * @throws {Error} with helm's stderr when it exits non-zero
 */
export async function helmOk(args: readonly string[], kubeconfig?: string): Promise<string> {
  const r = await helm(args, kubeconfig);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${String(r.status)}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Writes chart values to a fresh file for `-f` (JSON is YAML) and returns its path. */
export function valuesFile(values: Readonly<Record<string, unknown>>): string {
  homes ??= mkdtempSync(join(tmpdir(), 'sealbox-helm-'));
  const file = join(mkdtempSync(join(homes, 'values-')), 'values.yaml');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** Options of renderChart. */
export interface RenderOptions {
  readonly release: string;
  readonly namespace: string;
  readonly values?: Readonly<Record<string, unknown>>;
  /** also render crds/ (`--include-crds`) */
  readonly includeCrds?: boolean;
}

/** Parses multi-document YAML (helm's output) into objects, skipping empty documents. */
export function parseObjects(text: string): Manifest[] {
  return parseAllDocuments(text).flatMap((d) => {
    if (d.errors.length > 0) throw new Error(`helm output does not parse: ${d.errors[0]?.message ?? ''}`);
    const o = d.toJS() as Manifest | null;
    return o === null ? [] : [o];
  });
}

/**
 * Returns the objects `helm template` renders from charts/sealbox, for the
 * local control plane's Kubernetes version.
 * @throws {Error} when helm refuses the values or the chart
 */
export async function renderChart(o: RenderOptions): Promise<Manifest[]> {
  const args = ['template', o.release, CHART, '--namespace', o.namespace, '--kube-version', clusterPaths().k8sVersion,
    '-f', valuesFile(o.values ?? {}), ...(o.includeCrds === true ? ['--include-crds'] : [])];
  return parseObjects(await helmOk(args));
}
