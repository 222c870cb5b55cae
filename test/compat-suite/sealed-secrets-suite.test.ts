// Sealed Secrets' own integration suite (bitnami-labs/sealed-secrets
// integration/, v0.36.6) run against sealbox in compatibility mode, as the
// Sealed Secrets controller of the local control plane (issue 16 §3). The
// suite is built and cached by test/cluster/ss-suite.sh; sealbox runs as the
// controller in kube-system (where the suite and kubeseal look for it), with
// deploy/'s RBAC and the compat-mode rules, reachable as the Service
// kube-system/sealed-secrets-controller through the API server's service
// proxy (test/cluster/service-proxy.ts). One vitest test per spec of the
// suite; docs/MIGRATION.md lists what each spec checks and what is skipped.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubeConfig, kubeConfigForToken, kubeconfigPath, serviceAccountToken } from '../cluster/helpers.js';
import { exposeController, hostAddress, unexposeService } from '../cluster/service-proxy.js';
import type { ControllerProcess } from '../controller/process.js';
import { startController, sweepLeftoverControllers } from '../controller/process.js';
import type { Manifest } from '../controller/manifests.js';
import { applyObject, deleteObject, rawRequest, readManifests } from '../controller/manifests.js';
import { controllerRbac, controllerServiceAccount } from '../controller/rbac.js';
import { ROOT, sealbox } from '../helpers/cli.js';
import type { SpecResult } from './ginkgo.js';
import { listSpecs, readReport, runSuite } from './ginkgo.js';

/** Where the suite and kubeseal look for the controller (kubeseal's defaults). */
const CONTROLLER_NS = 'kube-system';
const SERVICE = 'sealed-secrets-controller';

/** Specs that cannot run here, with the reason (docs/MIGRATION.md says the same). */
const SKIPPED = new Map<string, string>();

interface Peers { suite: string; kubeseal: string; crd: string }
const peers = JSON.parse(execFileSync('bash', [join(ROOT, 'test/cluster/ss-suite.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as Peers;
const dir = mkdtempSync(join(tmpdir(), 'sealbox-ss-suite-'));
const specs = listSpecs(peers.suite, dir);

/**
 * The extra RBAC of compatibility mode (deploy/compat/rbac-compat.yaml), bound
 * to the controller's service account in CONTROLLER_NS, cluster-scoped names
 * made unique with `suffix` as controllerRbac does.
 */
function compatRbac(serviceAccount: string, suffix: string): Manifest[] {
  const docs = readManifests('deploy/compat').map((d) => d.object).filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding');
  if (docs.length === 0) throw new Error('deploy/compat/ holds no ClusterRole: the RBAC of --sealed-secrets-compat is missing');
  return docs.map((o) => {
    const next: Manifest = { ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-${suffix}` } };
    if (o.kind === 'ClusterRoleBinding') {
      next.roleRef = { ...(o.roleRef as Record<string, string>), name: `${(o.roleRef as { name: string }).name}-${suffix}` };
      next.subjects = [{ kind: 'ServiceAccount', name: serviceAccount, namespace: CONTROLLER_NS }];
    }
    return next;
  });
}

const state: { rbac: Manifest[]; controller?: ControllerProcess; results: Map<string, SpecResult>; summary: string } = { rbac: [], results: new Map(), summary: '' };

async function apply(obj: Manifest): Promise<void> {
  const res = await applyObject(kubeConfig(), obj, { dryRun: false });
  if (res.status >= 300) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: HTTP ${String(res.status)}: ${JSON.stringify(res.body).slice(0, 500)}`);
}

/** Installs Sealed Secrets' CRD (from its module) unless crds/ already did, and waits until it serves. */
async function installCrd(): Promise<void> {
  for (const doc of parseAllDocuments(readFileSync(peers.crd, 'utf8'))) {
    const obj = doc.toJS() as Manifest | null;
    if (obj !== null) await apply(obj);
  }
  await eventually('the bitnami.com SealedSecret CRD to serve', async () => {
    const res = await rawRequest(kubeConfig(), 'GET', '/apis/bitnami.com/v1alpha1/sealedsecrets');
    return res.status === 200 ? true : undefined;
  });
}

async function startCompatController(): Promise<ControllerProcess> {
  const suffix = randomBytes(4).toString('hex');
  const rbac = controllerRbac(CONTROLLER_NS, suffix);
  state.rbac.push(...rbac, ...compatRbac(controllerServiceAccount(rbac), suffix));
  for (const obj of state.rbac) await apply(obj);
  const token = await serviceAccountToken(CONTROLLER_NS, controllerServiceAccount(rbac), 3 * 3600);
  const kubeconfig = join(dir, 'token-kubeconfig');
  writeFileSync(kubeconfig, kubeConfigForToken(token).exportConfig(), { mode: 0o600 });
  sweepLeftoverControllers();
  return startController({ name: 'controller', logDir: dir, args: [
    '--sealed-secrets-compat', '--kubeconfig', kubeconfig, '--namespace', CONTROLLER_NS,
    '--listen', `${hostAddress()}:0`, '--key-bits', '2048', '--no-leader-elect', '--log-level', 'debug',
  ] });
}

/** A stand-in for `controller --version`: the suite only checks the line it prints. */
function controllerShim(): string {
  const version = sealbox(['--version']).stdout.trim();
  const shim = join(dir, 'controller');
  writeFileSync(shim, `#!/bin/sh\necho "controller version: v${version}"\n`);
  chmodSync(shim, 0o755);
  return shim;
}

function summarise(results: readonly SpecResult[]): string {
  const lines = results.map((r) => `  ${r.state.padEnd(8)} [${r.group}] ${r.name}${SKIPPED.has(r.name) ? ` — skipped: ${SKIPPED.get(r.name) ?? ''}` : ''}`);
  const count = (g: string, s: string): number => results.filter((r) => r.group === g && r.state === s).length;
  const totals = ['controller', 'kubeseal'].map((g) => `${g}: ${String(count(g, 'passed'))} passed, ${String(count(g, 'failed') + count(g, 'panicked') + count(g, 'timedout'))} failed, ${String(count(g, 'skipped'))} skipped`);
  return `sealed-secrets v0.36.6 integration suite against sealbox --sealed-secrets-compat\n${lines.join('\n')}\n${totals.join('\n')}\n`;
}

beforeAll(async () => {
  await installCrd();
  state.controller = await startCompatController();
  await exposeController(kubeConfig(), CONTROLLER_NS, SERVICE, state.controller.url);
  const skip = [...SKIPPED.keys()].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const run = await runSuite({ binary: peers.suite, dir, kubeconfig: kubeconfigPath(), kubesealBin: peers.kubeseal, controllerBin: controllerShim(), namespace: CONTROLLER_NS, ...(skip === '' ? {} : { skip }), timeoutMs: 900_000 });
  for (const r of readReport(run.report)) state.results.set(r.name, r);
  state.summary = summarise([...state.results.values()]);
  process.stdout.write(state.summary);
}, 1_200_000);

afterAll(async () => {
  await state.controller?.kill('SIGTERM');
  await unexposeService(kubeConfig(), { namespace: CONTROLLER_NS, name: SERVICE });
  for (const obj of state.rbac.filter((o) => o.kind.startsWith('Cluster'))) await deleteObject(kubeConfig(), obj);
  if (process.env.SEALBOX_CLUSTER_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe.each(['controller', 'kubeseal'] as const)('sealed-secrets suite: %s specs', (group) => {
  const mine = specs.filter((s) => s.group === group);
  it(`holds the ${group === 'controller' ? '26 controller' : '15 kubeseal'} specs of v0.36.6`, () => {
    expect(mine.length).toBe(group === 'controller' ? 26 : 15);
  });
  it.each(mine.filter((s) => !SKIPPED.has(s.name)).map((s) => [s.name]))('%s', (name) => {
    const r = state.results.get(name);
    expect(r, `the suite did not report "${name}"; see ${join(dir, 'suite.log')}`).toBeDefined();
    expect(r?.failure ?? '').toBe('');
    expect(r?.state).toBe('passed');
  });
  for (const s of mine.filter((x) => SKIPPED.has(x.name))) it.skip(`${s.name} (skipped: ${SKIPPED.get(s.name) ?? ''})`, () => undefined);
});
