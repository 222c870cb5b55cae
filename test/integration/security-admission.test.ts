// deploy/admission-policy.yaml on the real API server (issue 11, item 4c):
// the ValidatingAdmissionPolicy denies the controller's service account
// creating or updating Secrets of type kubernetes.io/service-account-token,
// and lets every other identity, and the controller's ordinary Secrets, be.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import type { Manifest, RawResponse } from '../controller/manifests.js';
import { applyObject, deleteObject, rawRequest, readManifests } from '../controller/manifests.js';

const env = useController({ prefix: 'sec-vap' });
const suffix = randomBytes(4).toString('hex');
const applied: Manifest[] = [];

/** deploy/'s policy and binding, renamed with a suffix so test files do not share them. */
function policyObjects(): Manifest[] {
  const docs = readManifests('deploy').filter((d) => d.object.kind.startsWith('ValidatingAdmissionPolicy')).map((d) => structuredClone(d.object));
  if (!docs.some((o) => o.kind === 'ValidatingAdmissionPolicy') || !docs.some((o) => o.kind === 'ValidatingAdmissionPolicyBinding')) {
    throw new Error('deploy/ has no ValidatingAdmissionPolicy and binding');
  }
  return docs.map((o) => {
    const next: Manifest = { ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-${suffix}` } };
    if (o.kind === 'ValidatingAdmissionPolicyBinding') {
      const spec = o.spec as { policyName: string };
      next.spec = { ...spec, policyName: `${spec.policyName}-${suffix}` };
    }
    return next;
  });
}

function tokenKc(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.tokenKubeconfig);
  return kc;
}

function tokenSecret(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
    metadata: { name, annotations: { 'kubernetes.io/service-account.name': 'default' } },
  });
}

const create = (kc: k8s.KubeConfig, body: string): Promise<RawResponse> => rawRequest(kc, 'POST', `/api/v1/namespaces/${env.namespace}/secrets`, body);
const message = (r: RawResponse): string => {
  const m = (r.body as { message?: unknown }).message;
  return typeof m === 'string' ? m : '';
};

afterAll(async () => {
  for (const o of applied.reverse()) await deleteObject(kubeConfig(), o);
});

describe('the admission policy in deploy/', () => {
  it("denies the controller's service account creating or updating a service-account-token Secret, and allows other identities", async () => {
    for (const o of policyObjects()) {
      const res = await applyObject(kubeConfig(), o, { dryRun: false });
      expect(res.status, JSON.stringify(res.body).slice(0, 400)).toBeLessThan(300);
      applied.push(o);
    }
    // the API server picks a new policy up within a second or so
    let n = 0;
    const denied = await eventually('the policy to deny the controller', async () => {
      const r = await create(tokenKc(), tokenSecret(`by-controller-${n++}`));
      return r.status === 201 ? undefined : r;
    }, 20_000, 250);
    expect(denied.status).toBe(403);
    expect(message(denied)).toContain('may not write Secrets of type kubernetes.io/service-account-token');
    expect((await create(tokenKc(), tokenSecret('by-controller-again'))).status).toBe(403);

    // another identity (here the admin) may
    expect((await create(kubeConfig(), tokenSecret('by-admin'))).status).toBe(201);
    // and the controller may not update that one either
    // kube-controller-manager fills the token in meanwhile: a 409 for a stale resourceVersion is retried
    const update = await eventually('an answer other than a conflict', async () => {
      const existing = await rawRequest(kubeConfig(), 'GET', `/api/v1/namespaces/${env.namespace}/secrets/by-admin`);
      const body = existing.body as Manifest;
      const r = await rawRequest(tokenKc(), 'PUT', `/api/v1/namespaces/${env.namespace}/secrets/by-admin`,
        JSON.stringify({ ...body, metadata: { ...body.metadata, labels: { touched: 'yes' } } }));
      return r.status === 409 ? undefined : r;
    }, 20_000, 250);
    expect(update.status).toBe(403);
    expect(message(update)).toContain('may not write Secrets of type kubernetes.io/service-account-token');

    // the controller's ordinary work is untouched
    const opaque = await create(tokenKc(), JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ordinary' }, stringData: { v: 'x' } }));
    expect(opaque.status).toBe(201);
  });
});
