#!/usr/bin/env node
// The whole main job on a local control plane, as a user would run it:
//   1. start kube-apiserver + etcd + kube-controller-manager (built once from
//      the Go module proxy, cached), install crds/ and everything in deploy/;
//   2. run the controller as a process with the service-account token that
//      deploy/'s RBAC grants (no pods run here: there is no kubelet);
//   3. fetch the cluster certificate, seal a sample Secret, apply the sealed
//      resource, and show the Secret the controller made from it.
// Usage: npm run demo [-- --keep]   (--keep leaves the cluster and controller running)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane } from '../test/cluster/control-plane.js';
import { applyManifests, tokenKubeconfig } from './lib/install.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const say = (m) => process.stdout.write(`\n\x1b[1m== ${m}\x1b[0m\n`);
const sealbox = (args, env, input) => {
  process.stdout.write(`$ sealbox ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(root, 'dist/bundle/sealbox.js'), ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sealbox ${args[0]} failed (exit ${r.status}): ${r.stderr}`);
  if (r.stderr) process.stdout.write(r.stderr);
  return r.stdout;
};
const until = async (what, fn, ms = 30_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

say('starting a local control plane (first run builds it: ~7 min)');
const cp = await startControlPlane({ id: keep ? 'dev' : 'demo', persistent: keep, build: true, crdFiles: [join(root, 'crds/sealedsecrets.sealbox.dev.yaml')], log: (m) => process.stdout.write(`${m}\n`) });
const admin = { KUBECONFIG: cp.kubeconfig };
let controller;
try {
  say('installing deploy/ (namespace, service account, RBAC, Deployment, Service, PDB, NetworkPolicy)');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  for (const line of await applyManifests(kc, [join(root, 'crds'), join(root, 'deploy')])) process.stdout.write(`${line}\n`);

  say('running the controller with the service-account token deploy/ grants');
  const work = mkdtempSync(join(tmpdir(), 'sealbox-demo-'));
  const tokenKc = join(work, 'controller.kubeconfig');
  writeFileSync(tokenKc, await tokenKubeconfig(kc, 'sealbox-system', 'sealbox-controller'), { mode: 0o600 });
  const logFile = join(work, 'controller.log');
  controller = spawn(process.execPath, [join(root, 'dist/bundle/sealbox.js'), 'controller', '--kubeconfig', tokenKc, '--namespace', 'sealbox-system', '--listen', '127.0.0.1:0', '--key-check-interval', '2s'], {
    stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
    detached: keep,
  });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await until('the controller to publish its certificate', async () => (await core.readNamespacedConfigMap({ name: 'sealbox-certs', namespace: 'sealbox-system' })).data?.['cert.pem']);
  process.stdout.write(`controller pid ${controller.pid}, logs in ${logFile}\n`);

  say('a developer seals a Secret with the certificate fetched from the cluster');
  sealbox(['cert', 'fetch', '-o', join(work, 'cluster.pem')], admin);
  process.stdout.write(sealbox(['cert', 'inspect', join(work, 'cluster.pem')], admin));
  await core.createNamespace({ body: { metadata: { name: 'demo' } } }).catch(() => undefined);
  const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n  namespace: demo\n  labels: {app: db}\nstringData:\n  username: app\n  password: correct-horse-battery-staple\n';
  process.stdout.write(secret);
  const sealed = sealbox(['seal', '--cert', join(work, 'cluster.pem')], admin, secret);
  writeFileSync(join(work, 'db-credentials.sealed.yaml'), sealed);
  process.stdout.write(`\n# ${join(work, 'db-credentials.sealed.yaml')} — safe to commit:\n${sealed}`);
  process.stdout.write(sealbox(['verify', work], admin) || '');

  say('applying the sealed resource; the controller makes the Secret');
  const started = Date.now();
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  await objects.create(k8s.loadYaml(sealed));
  const made = await until('the Secret', async () => core.readNamespacedSecret({ name: 'db-credentials', namespace: 'demo' }));
  process.stdout.write(`Secret demo/db-credentials created ${Date.now() - started} ms after apply\n`);
  for (const [k, v] of Object.entries(made.data ?? {})) process.stdout.write(`  ${k}: ${Buffer.from(v, 'base64').toString('utf8')}\n`);
  process.stdout.write(`  ownerReferences: ${made.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`).join(', ')}\n`);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const status = await until('Ready status', async () => {
    const o = await custom.getNamespacedCustomObject({ group: 'sealbox.dev', version: 'v1', namespace: 'demo', plural: 'sealedsecrets', name: 'db-credentials' });
    return o.status?.conditions?.[0]?.status === 'True' ? o.status : undefined;
  });
  process.stdout.write(`  status: Ready=${status.conditions[0].status} (${status.conditions[0].reason}), keys ${status.keyIds.join(', ')}\n`);
  const leaked = readFileSync(logFile, 'utf8').includes('correct-horse-battery-staple');
  process.stdout.write(`  controller log mentions the password: ${leaked ? 'YES (bug!)' : 'no'}\n`);
  say(keep ? `done; cluster and controller left running (export KUBECONFIG=${cp.kubeconfig}; stop the controller with kill ${controller.pid} and the cluster with npm run cluster:down)` : 'done');
} finally {
  if (!keep) {
    if (controller !== undefined && controller.exitCode === null) {
      const exited = new Promise((r) => controller.once('exit', r));
      controller.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      controller.kill('SIGKILL');
    }
    await cp.stop();
  } else {
    controller?.unref();
  }
}
