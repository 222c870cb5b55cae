// charts/sealbox (issue 14 §3) rendered by the real Helm: `helm lint
// --strict`, the objects equal deploy/'s (RBAC rule for rule, and with
// watchNamespaces deploy/namespaced/'s), the values reach the controller's
// flags, and `helm template | kubectl apply --dry-run=server` (the real
// kubectl, test/cluster/build.sh) passes on the local control plane.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../cluster/control-plane.js';
import { kubeConfig, kubeconfigPath, useNamespace } from '../cluster/helpers.js';
import { CHART, helm, helmBinary, renderChart, valuesFile } from '../cluster/helm.js';
import type { Manifest } from '../controller/manifests.js';
import { applyObject, readManifests } from '../controller/manifests.js';
import { namespacedControllerRbac } from '../controller/rbac.js';
import { ROOT, ensureBuilt, sealboxAsync } from '../helpers/cli.js';

const NS = 'sealbox-system';
const CLUSTER_KINDS = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
const RBAC_KINDS = new Set(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
/** Every value the chart has, set, so that every template renders. */
const ALL_VALUES = {
  namespace: { create: true }, watchNamespaces: ['apps'], kms: { providers: ['aws', 'azure'], allow: ['default', 'aws:123456789012:eu-west-1'], timeout: '20s' },
  extraArgs: ['--workers=8'], extraEnv: [{ name: 'AWS_REGION', value: 'eu-west-1' }], serviceMonitor: { enabled: true, labels: { release: 'prom' } },
  serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/sealbox' } }, podLabels: { team: 'platform' },
  priorityClassName: 'sealbox-critical', image: { digest: `sha256:${'ab'.repeat(32)}` }, events: 'warnings',
};
/** Sharded: a StatefulSet instead of the Deployment. */
const SHARDED = { shards: 3, replicas: 3 };

const labelsOf = (o: Manifest | undefined): Record<string, string> => (o?.metadata.labels ?? {}) as Record<string, string>;
const key = (o: Manifest): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objs: readonly Manifest[]): Map<string, Manifest> => new Map(objs.map((o) => [key(o), o]));

/** deploy/'s objects as `kubectl apply -k deploy/` sends them: namespaced ones in sealbox-system. */
function deployObjects(dir = 'deploy'): Manifest[] {
  return readManifests(dir).map(({ object: o }) => (CLUSTER_KINDS.has(o.kind) || o.metadata.namespace !== undefined
    ? o : { ...o, metadata: { ...o.metadata, namespace: NS } }));
}

/**
 * `o` without labels (metadata and pod template; the chart adds Helm's own)
 * and without Helm's resource policy (the chart keeps the namespace).
 */
function withoutLabels(o: Manifest): Manifest {
  const copy = structuredClone(o);
  delete copy.metadata.labels;
  const annotations = copy.metadata.annotations as Record<string, string> | undefined;
  if (annotations !== undefined) {
    delete annotations['helm.sh/resource-policy'];
    if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  const template = (copy.spec as { template?: { metadata?: { labels?: unknown } } } | undefined)?.template;
  if (template?.metadata !== undefined) delete template.metadata.labels;
  return copy;
}

/** The RBAC objects without labels, sorted by kind/namespace/name. */
function rbacOf(objs: readonly Manifest[]): Manifest[] {
  return objs.filter((o) => RBAC_KINDS.has(o.kind)).map(withoutLabels).sort((a, b) => key(a).localeCompare(key(b)));
}

interface Container { args: string[]; env: { name: string; value?: string; valueFrom?: unknown }[]; image: string }
interface Workload { spec: { replicas: number; serviceName?: string; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } } } }

function workload(objs: readonly Manifest[], kind: 'Deployment' | 'StatefulSet'): Workload {
  const w = objs.find((o) => o.kind === kind) as Workload | undefined;
  if (w === undefined) throw new Error(`no ${kind} was rendered`);
  return w;
}

function deployment(objs: readonly Manifest[]): Container {
  const c = workload(objs, 'Deployment').spec.template.spec.containers[0];
  if (c === undefined) throw new Error('no Deployment with a container was rendered');
  return c;
}

const ns = useNamespace('chart-render');

// helm and dist/ built (or found) before any test's clock starts
beforeAll(() => { helmBinary(); ensureBuilt(); }, 20 * 60_000);

describe('helm lint --strict', () => {
  it('passes with the default values and with every value set', async () => {
    for (const values of [{}, ALL_VALUES]) {
      const r = await helm(['lint', '--strict', CHART, '-f', valuesFile(values)]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('0 chart(s) failed');
    }
  });

  it('passes sharded; more than 8 shards, or fewer replicas than shards, do not render', async () => {
    const sharded = await helm(['lint', '--strict', CHART, '-f', valuesFile(SHARDED)]);
    expect(sharded.status, sharded.stdout + sharded.stderr).toBe(0);
    const many = await helm(['lint', '--strict', CHART, '-f', valuesFile({ shards: 9, replicas: 9 })]);
    expect(many.status).not.toBe(0);
    expect(many.stdout + many.stderr).toContain('/shards');
    // helm lint reports a template's `fail` only as [INFO]: render it
    await expect(renderChart({ release: 'sealbox', namespace: NS, values: { shards: 3, replicas: 2 } })).rejects.toThrow('replicas (2) must be at least shards (3)');
  });

  it('fails on a misspelt value, which the values schema refuses', async () => {
    const r = await helm(['lint', '--strict', CHART, '-f', valuesFile({ watchNamespace: ['apps'] })]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('watchNamespace');
  });
});

describe('the chart against deploy/', () => {
  it('ships crds/ unchanged', () => {
    const chartCrd = readFileSync(join(CHART, 'crds', 'sealedsecrets.sealbox.dev.yaml'), 'utf8');
    expect(chartCrd).toBe(readFileSync(join(ROOT, 'crds', 'sealedsecrets.sealbox.dev.yaml'), 'utf8'));
  });

  it('renders every object of deploy/, field for field apart from labels, and nothing more', async () => {
    const rendered = await renderChart({ release: 'sealbox', namespace: NS, values: { namespace: { create: true } } });
    const chart = byKey(rendered);
    const deploy = deployObjects();
    expect([...chart.keys()].sort()).toEqual(deploy.map(key).sort());
    // the keys live in the namespace: helm uninstall must not delete it
    expect(chart.get(`Namespace /${NS}`)?.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    for (const want of deploy) {
      const got = chart.get(key(want));
      expect(got && withoutLabels(got), key(want)).toEqual(withoutLabels(want));
      // deploy/'s labels are all there (kustomize adds part-of to each object)
      expect(labelsOf(got), key(want)).toMatchObject({ ...labelsOf(want), 'app.kubernetes.io/part-of': 'sealbox' });
    }
  });

  it('grants the controller and users exactly deploy/\'s RBAC, rule for rule', async () => {
    const rendered = await renderChart({ release: 'sealbox', namespace: NS });
    expect(rbacOf(rendered)).toEqual(rbacOf(deployObjects()));
  });

  it('with watchNamespaces grants exactly deploy/namespaced/\'s RBAC, one RoleBinding per namespace', async () => {
    const watched = ['apps', 'team-b'];
    const rendered = await renderChart({ release: 'sealbox', namespace: NS, values: { watchNamespaces: watched } });
    // namespacedControllerRbac suffixes cluster-scoped names (for tests sharing a cluster): take it off
    const unsuffix = (o: Manifest): Manifest => JSON.parse(JSON.stringify(o).replaceAll('-zz', '')) as Manifest;
    const controller = namespacedControllerRbac(NS, watched, 'zz').map(unsuffix);
    const users = deployObjects().filter((o) => labelsOf(o)['app.kubernetes.io/component'] === undefined);
    expect(rbacOf(rendered)).toEqual(rbacOf([...controller, ...users]));
    expect(rendered.filter((o) => o.kind === 'ClusterRoleBinding')).toEqual([]);
    expect(deployment(rendered).env).toContainEqual({ name: 'SEALBOX_WATCH_NAMESPACES', value: 'apps,team-b' });
  });
});

describe('the chart\'s values', () => {
  it('reach the controller as flags and environment variables it reads', async () => {
    const c = deployment(await renderChart({ release: 'sealbox', namespace: NS, values: ALL_VALUES }));
    expect(c.args).toEqual(['controller', '--workers=8']);
    expect(c.image).toBe(`ghcr.io/sealbox/sealbox@sha256:${'ab'.repeat(32)}`);
    expect(c.env).toEqual(expect.arrayContaining([
      { name: 'SEALBOX_WATCH_NAMESPACES', value: 'apps' },
      { name: 'SEALBOX_KMS_PROVIDERS', value: 'aws,azure' },
      { name: 'SEALBOX_KMS_ALLOW', value: 'default,aws:123456789012:eu-west-1' },
      { name: 'SEALBOX_KMS_TIMEOUT', value: '20s' },
      { name: 'SEALBOX_EVENTS', value: 'warnings' },
      { name: 'AWS_REGION', value: 'eu-west-1' },
    ]));
    // each SEALBOX_* variable is one `sealbox controller` reads (its --help names them)
    const help = (await sealboxAsync(['controller', '--help'])).stdout.replace(/\s+/g, ' ');
    for (const { name } of c.env.filter((e) => e.name.startsWith('SEALBOX_'))) expect(help, name).toContain(`env: ${name}`);
  });

  it('with shards, runs the same pod as a StatefulSet, so that each replica\'s pod name gives its shard', async () => {
    const plain = await renderChart({ release: 'sealbox', namespace: NS, values: { events: 'warnings' } });
    const sharded = await renderChart({ release: 'sealbox', namespace: NS, values: { ...SHARDED, events: 'warnings' } });
    expect(sharded.some((o) => o.kind === 'Deployment')).toBe(false);
    const sts = workload(sharded, 'StatefulSet');
    // pods sealbox-controller-0..2: the controller reads the ordinal from POD_NAME (docs/DEPLOY.md "Sharding")
    expect(sharded.find((o) => o.kind === 'StatefulSet')?.metadata.name).toBe('sealbox-controller');
    expect(sts.spec.replicas).toBe(3);
    const c = sts.spec.template.spec.containers[0];
    expect(c?.env).toContainEqual({ name: 'SEALBOX_SHARDS', value: '3' });
    expect(c?.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    const help = (await sealboxAsync(['controller', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('env: SEALBOX_SHARDS');
    // the same pod as the Deployment's, apart from the shard count and the spread's revision label
    const podOf = (w: Workload): unknown => JSON.parse(JSON.stringify(w.spec.template)
      .replace('{"name":"SEALBOX_SHARDS","value":"3"},', '').replaceAll('controller-revision-hash', 'pod-template-hash'));
    expect(podOf(sts)).toEqual(podOf(workload(plain, 'Deployment')));
    // the Service, the PodDisruptionBudget and the NetworkPolicy select its pods
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    for (const kind of ['Service', 'PodDisruptionBudget', 'NetworkPolicy']) {
      const o = sharded.find((x) => x.kind === kind) as { spec: { selector?: Record<string, string> & { matchLabels?: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } } } | undefined;
      const selector = o?.spec.podSelector?.matchLabels ?? o?.spec.selector?.matchLabels ?? o?.spec.selector;
      expect(sts.spec.template.metadata.labels, kind).toMatchObject(selector ?? { missing: kind });
    }
    expect(sharded.find((o) => o.kind === 'Service')?.metadata.name).toBe(sts.spec.serviceName);
  });

  it('renders a ServiceMonitor that selects the controller Service by its port name', async () => {
    const rendered = await renderChart({ release: 'sealbox', namespace: NS, values: ALL_VALUES });
    const sm = rendered.find((o) => o.kind === 'ServiceMonitor') as { metadata: { labels: Record<string, string> }; spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } } | undefined;
    const svc = rendered.find((o) => o.kind === 'Service') as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string }[] } } | undefined;
    expect(sm?.metadata.labels.release).toBe('prom');
    expect(svc?.metadata.labels).toMatchObject(sm?.spec.selector.matchLabels ?? { missing: 'ServiceMonitor' });
    expect(svc?.spec.ports.map((p) => p.name)).toContain(sm?.spec.endpoints[0]?.port);
    expect(sm?.spec.endpoints[0]?.path).toBe('/metrics');
    expect((await renderChart({ release: 'sealbox', namespace: NS })).some((o) => o.kind === 'ServiceMonitor')).toBe(false);
  });
});

describe('helm template | kubectl apply --dry-run=server', () => {
  it('is accepted by the real kubectl and the API server, with the default values and with every value set', () => {
    const { kubectl, k8sVersion } = clusterPaths();
    expect(existsSync(kubectl), `${kubectl} is missing: run bash test/cluster/build.sh`).toBe(true);
    const release = `chart-${randomBytes(3).toString('hex')}`;
    for (const values of [{}, { ...ALL_VALUES, serviceMonitor: { enabled: false }, watchNamespaces: [ns.name] }]) {
      const script = 'set -o pipefail; "$1" template "$2" "$3" -n "$4" --kube-version "$5" -f "$6" --include-crds | "$7" apply --dry-run=server -f -';
      const r = spawnSync('bash', ['-c', script, '_', helmBinary(), release, CHART, ns.name, k8sVersion, valuesFile(values), kubectl],
        { encoding: 'utf8', env: { PATH: process.env.PATH, KUBECONFIG: kubeconfigPath(), HOME: tmpdir() }, timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/deployment\.apps\/sealbox-controller (created|configured) \(server dry run\)/);
      expect(r.stdout).toMatch(new RegExp(`clusterrole\\.rbac\\.authorization\\.k8s\\.io/${release}-sealbox-controller (created|configured) \\(server dry run\\)`));
    }
  });

  it('is accepted object by object with strict field validation, in both RBAC modes (watching its own namespace too)', async () => {
    const admin = kubeConfig();
    const release = `chart-${randomBytes(3).toString('hex')}`;
    for (const values of [{ namespace: { create: true } }, { ...ALL_VALUES, serviceMonitor: { enabled: false }, watchNamespaces: [ns.name] }, SHARDED]) {
      // no ServiceMonitor: the local control plane has no Prometheus Operator CRDs
      const objects = await renderChart({ release, namespace: ns.name, values, includeCrds: true });
      expect(objects.length).toBeGreaterThan(15);
      // a dry run checks each object alone: two objects with one name would pass it, but not helm install
      expect(new Set(objects.map(key)).size).toBe(objects.length);
      for (const o of objects) {
        const res = await applyObject(admin, o, { dryRun: true });
        expect(res.status, `${key(o)}: ${JSON.stringify(res.body).slice(0, 400)}`).toBeLessThan(300);
      }
    }
  });
});
