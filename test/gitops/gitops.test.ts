// The GitOps loop end to end (issue 15 §2), with the real tools: a Git
// repository on a loopback Git server holds a namespace, SealedSecrets made
// with `sealbox seal` for the controller's certificate (`sealbox cert fetch`)
// and a ConfigMap; Flux's source-controller and kustomize-controller pull and
// apply it (test/gitops/flux-sync.yaml: wait, prune, sealbox's health check);
// sealbox's controller, with deploy/'s token, turns them into Secrets. The
// steps run in order, each timed (the table is printed at the end), and no
// plaintext value may appear in Flux's status, events or logs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createNamespace, deleteNamespace, eventually, kubeconfigPath } from '../cluster/helpers.js';
import { useController, waitForLeader } from '../controller/harness.js';
import { listSealed, readSecret, secretText, waitForSecret } from '../controller/sealed.js';
import { ok, sealboxAsync } from '../helpers/cli.js';
import { vectorKey } from '../helpers/keys.js';
import { applyFluxSync, condition, eventsText, fluxSync, getGitRepository, getKustomization, requestReconcile, waitForKustomization, warningReasons } from './fleet.js';
import type { Flux } from './flux.js';
import { startFlux } from './flux.js';
import { commitAndPush, createRepository, git, startGitServer } from './git-server.js';
import type { GitServer } from './git-server.js';
import { patchSecretValue, SecretWrites } from './writes.js';

/** How long Flux may take for one step on a loaded 2-core machine. */
const STEP_MS = 180_000;
/** The Kustomization's health-check timeout: the Failure step must fail well before it. */
const FLUX_TIMEOUT = '4m';

const env = useController({ prefix: 'gitops', replicas: 1, resyncPeriod: '30s' });
const values = { user: `u-${randomBytes(6).toString('hex')}`, password: `p-${randomBytes(12).toString('hex')}`, password2: `q-${randomBytes(12).toString('hex')}`, token: `t-${randomBytes(12).toString('hex')}` };
const timings: { step: string; seconds: number }[] = [];
let dir = '';
let repo = '';
let certFile = '';
let fluxNs = '';
let server: GitServer | undefined;
let flux: Flux | undefined;
let commit = '';

async function timed<T>(step: string, f: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const out = await f();
  timings.push({ step, seconds: (Date.now() - start) / 1000 });
  return out;
}

const sealbox = async (args: string[]): Promise<string> => ok(await sealboxAsync(args)).stdout;

async function sealInto(file: string, name: string, literals: Record<string, string>, cert = certFile): Promise<void> {
  await sealbox(['seal', '--cert', cert, '--name', name, '--namespace', env.namespace,
    ...Object.entries(literals).flatMap(([k, v]) => ['--from-literal', `${k}=${v}`]), '-o', join(repo, file)]);
}

function writeKustomization(resources: string[]): void {
  writeFileSync(join(repo, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `  - ${r}\n`).join('')}`);
}

/** Commits the repository and asks Flux to pull it now; returns the commit. */
async function push(message: string): Promise<string> {
  commit = commitAndPush(repo, message);
  await requestReconcile(fluxNs, 'fleet');
  return commit;
}

async function secretValues(name: string): Promise<Record<string, string> | undefined> {
  const s = await readSecret(env.namespace, name);
  return s === undefined ? undefined : secretText(s);
}

function writeRepository(): void {
  writeFileSync(join(repo, 'namespace.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${env.namespace}\n`);
  writeFileSync(join(repo, 'settings.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${env.namespace}\ndata:\n  mode: gitops\n`);
  writeKustomization(['namespace.yaml', 'settings.yaml', 'db.sealed.yaml', 'api.sealed.yaml']);
}

beforeAll(async () => {
  if (inject('sealboxCluster').error !== '') return;
  dir = mkdtempSync(join(tmpdir(), 'sealbox-gitops-'));
  repo = createRepository(join(dir, 'git'), 'fleet');
  server = await startGitServer(join(dir, 'git'));
  fluxNs = await createNamespace('flux-system');
  flux = await startFlux(inject('fluxDir'), fluxNs, dir, randomBytes(4).toString('hex'));
  certFile = join(dir, 'cert.pem');
  await sealbox(['cert', 'fetch', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace, '-o', certFile]);
}, 300_000);

afterAll(async () => {
  console.log(`gitops steps (seconds):\n${timings.map((t) => `  ${t.step.padEnd(22)} ${t.seconds.toFixed(1).padStart(6)}`).join('\n')}`);
  await flux?.stop();
  await server?.close();
  if (fluxNs !== '') await deleteNamespace(fluxNs);
  if (dir !== '' && process.env.SEALBOX_CLUSTER_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('Flux pulls sealed resources from Git and sealbox unseals them', () => {
  it('Commit -> Secrets: the Kustomization is Ready only after every SealedSecret is', async () => {
    await sealInto('db.sealed.yaml', 'db', { user: values.user, password: values.password });
    await sealInto('api.sealed.yaml', 'api', { token: values.token });
    writeRepository();
    // sealbox's controller is stopped: Flux applies, but must wait for it
    await Promise.all(env.controllers.map((c) => c.kill('SIGTERM')));
    await timed('commit -> applied', async () => {
      const first = commitAndPush(repo, 'fleet: namespace, settings, db and api sealed');
      commit = first;
      await applyFluxSync(fluxSync(fluxNs, `${server?.url ?? ''}/fleet.git`, FLUX_TIMEOUT));
      await eventually('Flux to apply both SealedSecrets', async () => ((await listSealed(env.namespace)).length === 2 ? true : undefined), STEP_MS);
      // Flux sets Healthy when its health checks of this commit start ("Running health checks…",
      // while Ready stays "Reconciliation in progress") and again when they end
      await eventually('Flux to run its health checks', async () => {
        const k = await getKustomization(fluxNs, 'fleet');
        return k.status?.lastAttemptedRevision?.endsWith(first) === true && condition(k, 'Healthy') !== undefined ? true : undefined;
      }, STEP_MS);
    });
    // two health polls (5 s apart) with no sealbox status: still not Ready
    await new Promise((r) => setTimeout(r, 11_000));
    expect(condition(await getKustomization(fluxNs, 'fleet'), 'Ready')?.status).not.toBe('True');
    await timed('commit -> Secrets', async () => {
      await waitForLeader([await env.startReplica('controller-1')]);
      await requestReconcile(fluxNs, 'fleet');
      const k = await waitForKustomization(fluxNs, 'fleet', commit, 'True', STEP_MS);
      const readyAt = Date.parse(condition(k, 'Ready')?.lastTransitionTime ?? '');
      for (const s of await listSealed(env.namespace)) {
        const ready = s.status?.conditions?.find((c) => c.type === 'Ready') as { status: string; lastTransitionTime: string } | undefined;
        expect(ready?.status, s.metadata.name).toBe('True');
        expect(Date.parse(ready?.lastTransitionTime ?? ''), s.metadata.name).toBeLessThanOrEqual(readyAt);
      }
    });
    expect(await secretValues('db')).toEqual({ user: values.user, password: values.password });
    expect(await secretValues('api')).toEqual({ token: values.token });
  });

  it('Change: a `seal --merge-into` of one value changes the Secret with one write', async () => {
    const before = await readSecret(env.namespace, 'db');
    const writes = await SecretWrites.start(env.namespace, 'db', before?.metadata?.resourceVersion ?? '');
    try {
      await sealbox(['seal', '--cert', certFile, '--merge-into', join(repo, 'db.sealed.yaml'), '--name', 'db', '--namespace', env.namespace, '--from-literal', `password=${values.password2}`]);
      await timed('change', async () => {
        await push('db: new password');
        await waitForSecret(env.namespace, 'db', (s) => secretText(s).password === values.password2, STEP_MS);
        await waitForKustomization(fluxNs, 'fleet', commit, 'True', STEP_MS);
      });
      expect(await secretValues('db')).toEqual({ user: values.user, password: values.password2 });
      await new Promise((r) => setTimeout(r, 3000));
      expect(writes.events(), 'writes to Secret db').toEqual(['MODIFIED']);
    } finally {
      writes.stop();
    }
  });

  it('Rotation: keys rotate + reseal touch only recipients blocks, and everything stays Ready', async () => {
    const ctl = env.controllers.find((c) => c.alive());
    if (ctl === undefined) throw new Error('no controller replica is running');
    const oldCert = readFileSync(certFile, 'utf8');
    await sealbox(['keys', 'rotate', '--kubeconfig', kubeconfigPath(), '--controller-namespace', env.controllerNamespace]);
    await eventually('the controller to serve its new key', async () => ((await fetch(`${ctl.url}/v1/cert.pem`).then((r) => r.text())) !== oldCert ? true : undefined), 60_000);
    const files = ['db.sealed.yaml', 'api.sealed.yaml'];
    const before = files.map((f) => readFileSync(join(repo, f), 'utf8'));
    await sealbox(['reseal', '--controller-url', ctl.url, ...files.map((f) => join(repo, f))]);
    files.forEach((f, i) => { expectOnlyRecipientsChanged(f, before[i] ?? '', readFileSync(join(repo, f), 'utf8')); });
    const notReady: string[] = [];
    const watcher = setInterval(() => {
      void listSealed(env.namespace).then((all) => {
        for (const s of all) if (s.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') notReady.push(s.metadata.name);
      }, () => undefined);
    }, 250);
    try {
      await timed('rotation', async () => {
        await push('reseal for the new key');
        await waitForKustomization(fluxNs, 'fleet', commit, 'True', STEP_MS);
      });
    } finally {
      clearInterval(watcher);
    }
    expect(notReady).toEqual([]);
    expect(await secretValues('db')).toEqual({ user: values.user, password: values.password2 });
    expect(await secretValues('api')).toEqual({ token: values.token });
  });

  it('Failure: a value sealed for another cluster fails the Kustomization fast, naming it and why', async () => {
    await sealInto('other.sealed.yaml', 'other', { key: `o-${randomBytes(8).toString('hex')}` }, vectorKey('a').certPath);
    writeKustomization(['namespace.yaml', 'settings.yaml', 'db.sealed.yaml', 'api.sealed.yaml', 'other.sealed.yaml']);
    const k = await timed('failure', async () => {
      await push('other: sealed for another cluster');
      return waitForKustomization(fluxNs, 'fleet', commit, 'False', STEP_MS);
    });
    // Flux's fail-fast message names the object and its kstatus ("SealedSecret/NS/NAME status: 'Failed'");
    // the reason is on the SealedSecret, as Stalled=True with sealbox's reason and message
    expect(condition(k, 'Ready')?.reason).toBe('HealthCheckFailed');
    const message = condition(k, 'Ready')?.message ?? '';
    expect(message).toContain('failed early');
    expect(message).toContain(`SealedSecret/${env.namespace}/other status: 'Failed'`);
    const ss = (await listSealed(env.namespace)).find((s) => s.metadata.name === 'other');
    const stalled = ss?.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled?.status).toBe('True');
    expect(stalled?.reason).toBe('NoKey');
    expect(stalled?.message).toContain(`sealed secret "${env.namespace}/other": none of your keys`);
    await eventually('sealbox\'s Warning event NoKey on other', async () => ((await warningReasons(env.namespace, 'other')).includes('NoKey') ? true : undefined), 30_000);
    expect(timings.at(-1)?.seconds ?? Infinity).toBeLessThan(120);
    expect(await secretValues('db')).toEqual({ user: values.user, password: values.password2 });
    expect(await secretValues('api')).toEqual({ token: values.token });
  });

  it('Drift: a Secret edited by hand is put back', async () => {
    await timed('drift', async () => {
      await patchSecretValue(env.namespace, 'api', 'token', 'edited-by-hand');
      await waitForSecret(env.namespace, 'api', (s) => secretText(s).token === values.token, STEP_MS);
    });
  });

  it('Prune: a SealedSecret removed from Git takes its Secret with it', async () => {
    rmSync(join(repo, 'api.sealed.yaml'));
    rmSync(join(repo, 'other.sealed.yaml'));
    writeKustomization(['namespace.yaml', 'settings.yaml', 'db.sealed.yaml']);
    await timed('prune', async () => {
      await push('api and other leave Git');
      await waitForKustomization(fluxNs, 'fleet', commit, 'True', STEP_MS);
      await eventually('Secret api to be deleted', async () => ((await readSecret(env.namespace, 'api')) === undefined ? true : undefined), STEP_MS);
    });
    expect((await listSealed(env.namespace)).map((s) => s.metadata.name)).toEqual(['db']);
    expect(await secretValues('db')).toEqual({ user: values.user, password: values.password2 });
  });

  it('no value appears in any Flux status, event or log', async () => {
    const texts = {
      logs: flux?.logs() ?? '',
      kustomization: JSON.stringify(await getKustomization(fluxNs, 'fleet')),
      gitRepository: JSON.stringify(await getGitRepository(fluxNs, 'fleet')),
      events: await eventsText([fluxNs, env.namespace]),
    };
    expect(texts.logs).toContain('fleet');
    for (const v of Object.values(values)) {
      for (const form of [v, Buffer.from(v).toString('base64')]) {
        for (const [where, text] of Object.entries(texts)) expect(text.includes(form), `${where} holds a value`).toBe(false);
      }
    }
  });
});

/** Asserts that `after` differs from `before` in recipients blocks only, and does differ. */
function expectOnlyRecipientsChanged(file: string, before: string, after: string): void {
  const strip = (text: string): unknown[] => parseAllDocuments(text).map((d) => {
    const o = d.toJS() as { spec: { dataKeys: { recipients?: unknown }[] } };
    for (const g of o.spec.dataKeys) delete g.recipients;
    return o;
  });
  expect(after, file).not.toBe(before);
  expect(strip(after), file).toEqual(strip(before));
  const changed = git(repo, 'diff', '--unified=0', '--', file).split('\n').filter((l) => /^[-+]\s/.test(l));
  for (const line of changed) expect(line, `${file}: a changed line outside recipients`).toMatch(/^[-+]\s+(- )?(type|id|wrapped|recipients):|^[-+]\s+[A-Za-z0-9+/=]+$/);
}
