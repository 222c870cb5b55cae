// deploy/argocd/health.lua judged by Argo CD's own Lua VM (the Go package
// github.com/argoproj/argo-cd/v3/util/lua, built by test/judges/argocd-lua.sh),
// installed the way a user installs it: as argocd-cm's
// resource.customizations.health.sealbox.dev_SealedSecret. First the fixtures
// of deploy/argocd/health_test.yaml (Argo CD's own convention for health
// checks), then the statuses the controller writes on the real control plane.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { useController } from '../controller/harness.js';
import { createSealed, fetchCert, getSealed, seal, waitForReady } from '../controller/sealed.js';
import { argocdHealth, healthLua } from '../judges/judges.js';

const env = useController({ prefix: 'argocd' });

interface HealthTest { readonly inputPath: string; readonly healthStatus: { readonly status: string; readonly message: string } }

const dir = new URL('../../deploy/argocd/', import.meta.url);
const cases = (parse(readFileSync(new URL('health_test.yaml', dir), 'utf8')) as { tests: HealthTest[] }).tests;

describe('the Argo CD health check deploy/argocd/health.lua', () => {
  it('covers healthy, degraded, progressing, a stale generation and a missing observedGeneration in health_test.yaml', () => {
    expect(new Set(cases.map((c) => c.healthStatus.status))).toEqual(new Set(['Healthy', 'Degraded', 'Progressing']));
    for (const p of ['stale-generation', 'no-status', 'no-observed-generation']) expect(cases.map((c) => c.inputPath)).toContain(`testdata/${p}.yaml`);
  });

  it('gives every object of health_test.yaml the health it names, in Argo CD\'s Lua VM under the argocd-cm key', async () => {
    const objects = cases.map((c) => parse(readFileSync(new URL(c.inputPath, dir), 'utf8')) as unknown);
    const verdicts = await argocdHealth(healthLua(), objects);
    expect(verdicts.map((v, i) => ({ input: cases[i]?.inputPath, key: v.key, health: v.health, error: v.error })))
      .toEqual(cases.map((c) => ({ input: c.inputPath, key: 'sealbox.dev/SealedSecret', health: c.healthStatus, error: undefined })));
  });

  it('judges what the controller writes: Progressing before it reports, Healthy once synced, Degraded with the message on a permanent failure', async () => {
    const ns = env.namespace;
    const cert = await fetchCert(env.controllers[0]?.url ?? '');
    const foreign = await generateSealingKey({ bits: 2048, commonName: 'another-cluster' });
    await createSealed(ns, await seal(cert, { name: 'good', namespace: ns, data: { password: randomBytes(8).toString('hex') } }));
    await createSealed(ns, await seal(foreign.certificatePem, { name: 'foreign', namespace: ns, data: { password: randomBytes(8).toString('hex') } }));
    // the controller's own namespace is not watched: this one never gets a status
    const unseen = await createSealed(env.controllerNamespace, await seal(cert, { name: 'unseen', namespace: env.controllerNamespace, data: { password: 'x' } }));
    const good = await waitForReady(ns, 'good', 'True');
    const bad = await waitForReady(ns, 'foreign', 'False');
    expect(unseen.status).toBeUndefined();

    const verdicts = await argocdHealth(healthLua(), [good, bad, await getSealed(env.controllerNamespace, 'unseen')]);
    const stalled = bad.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(verdicts.map((v) => v.health)).toEqual([
      { status: 'Healthy', message: 'the secret matches the sealed resource' },
      { status: 'Degraded', message: stalled?.message },
      { status: 'Progressing', message: 'Waiting for the sealbox controller to report on this resource' },
    ]);
    expect(stalled?.message).toContain(foreign.fingerprint.slice(0, 12));
  });
});
