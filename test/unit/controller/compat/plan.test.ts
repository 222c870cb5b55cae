import { describe, expect, it } from 'vitest';
import type { BitnamiOwner } from '../../../../src/controller/compat/plan.js';
import { desiredSecret, planCompat } from '../../../../src/controller/compat/plan.js';
import { isSealboxError } from '../../../../src/errors.js';
import type { V1Secret } from '../../../../src/kube/types.js';

const owner: BitnamiOwner = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', namespace: 'prod', name: 'db', uid: 'u1' };
const want = desiredSecret(owner, { labels: { app: 'db' }, type: 'Opaque', data: { password: 'cA==' } });
const ref = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db', uid: 'u1', controller: true };

function existing(meta: Partial<NonNullable<V1Secret['metadata']>>, data: Record<string, string> = { password: 'cA==' }): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod', resourceVersion: '5', ...meta }, type: 'Opaque', data };
}

describe('the compatibility mode plan, as Sealed Secrets decides', () => {
  it('forces name and namespace and sets a controller owner reference, unless skip-set-owner-references', () => {
    expect(want.metadata).toEqual({ name: 'db', namespace: 'prod', labels: { app: 'db' }, ownerReferences: [ref] });
    const skip = desiredSecret(owner, { annotations: { 'sealedsecrets.bitnami.com/skip-set-owner-references': 'true' }, data: {} });
    expect(skip.metadata?.ownerReferences).toBeUndefined();
  });

  it.each([
    ['creates a missing Secret', undefined, 'create'],
    ['leaves a Secret that matches alone', existing({ labels: { app: 'db' }, ownerReferences: [ref] }), 'none'],
    ['updates a drifted value', existing({ labels: { app: 'db' }, ownerReferences: [ref] }, { password: 'eA==' }), 'update'],
    ['refuses a Secret it does not control', existing({}), 'refuse'],
    ['takes over a Secret annotated managed', existing({ annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } }), 'update'],
    ['patches a Secret annotated patch', existing({ annotations: { 'sealedsecrets.bitnami.com/patch': 'true' } }, { other: 'bw==' }), 'update'],
    ['does not try to change the values of an immutable Secret', { ...existing({ labels: { app: 'db' }, ownerReferences: [ref] }, { password: 'eA==' }), immutable: true }, 'immutable'],
    ['does not try to add values to an immutable Secret it patches', { ...existing({ annotations: { 'sealedsecrets.bitnami.com/patch': 'true' } }, { other: 'bw==' }), immutable: true }, 'immutable'],
    ['updates the labels of an immutable Secret whose values match', { ...existing({ ownerReferences: [ref] }), immutable: true }, 'update'],
  ] as const)('%s', (_what, current, action) => {
    expect(planCompat(owner, current, want).action).toBe(action);
  });

  it('says why an immutable Secret is not updated, in the words Sealed Secrets\' suite looks for', () => {
    const p = planCompat(owner, { ...existing({ ownerReferences: [ref] }, { password: 'eA==' }), immutable: true }, want);
    if (p.action !== 'immutable') throw new Error(p.action);
    expect(p.message).toContain('secret "prod/db"');
    expect(p.message).toContain('the target Secret is immutable');
  });

  it('with patch, merges values, labels and annotations and keeps the rest', () => {
    const p = planCompat(owner, existing({ annotations: { 'sealedsecrets.bitnami.com/patch': 'true', keep: 'me' }, labels: { team: 'x' } }, { other: 'bw==' }), want);
    if (p.action !== 'update') throw new Error(p.action);
    expect(p.secret.data).toEqual({ other: 'bw==', password: 'cA==' });
    expect(p.secret.metadata?.labels).toEqual({ team: 'x', app: 'db' });
    expect(p.secret.metadata?.annotations?.keep).toBe('me');
    expect(p.secret.metadata?.ownerReferences).toBeUndefined();
  });

  it('managed (without patch) replaces values, labels and annotations and takes the owner reference', () => {
    const p = planCompat(owner, existing({ annotations: { 'sealedsecrets.bitnami.com/managed': 'true' }, labels: { team: 'x' } }, { other: 'bw==' }), want);
    if (p.action !== 'update') throw new Error(p.action);
    expect(p.secret.data).toEqual({ password: 'cA==' });
    expect(p.secret.metadata?.labels).toEqual({ app: 'db' });
    expect(p.secret.metadata?.ownerReferences).toEqual([ref]);
    expect(p.secret.metadata?.resourceVersion).toBe('5');
  });
});

describe('the compatibility mode refuses the templates sealbox refuses (docs/SECURITY.md 1a.8)', () => {
  it.each([
    ['a sealing key planted in the controller namespace', { labels: { 'sealbox.dev/sealing-key': 'true' }, annotations: { 'sealedsecrets.bitnami.com/skip-set-owner-references': 'true' }, type: 'kubernetes.io/tls' }, 'spec.template.metadata.labels "sealbox.dev/sealing-key"'],
    ['a reserved annotation', { annotations: { 'x.sealbox.dev/seal-with': '2020-01-01T00:00:00Z' } }, 'uses the prefix sealbox.dev/'],
    ['a Sealed Secrets key for keys import to pick up', { labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' }, type: 'kubernetes.io/tls' }, 'labels "sealedsecrets.bitnami.com/sealed-secrets-key" is refused'],
    ['a service-account token', { type: 'kubernetes.io/service-account-token', annotations: { 'kubernetes.io/service-account.name': 'admin' } }, 'spec.template.type "kubernetes.io/service-account-token" is refused'],
  ])('refuses %s', (_what, template, message) => {
    let caught: unknown;
    try {
      desiredSecret({ ...owner, namespace: 'sealbox-system', name: 'evil' }, { ...template, data: { 'tls.key': 'cA==' } });
    } catch (err) {
      caught = err;
    }
    expect(isSealboxError(caught, 'INPUT')).toBe(true);
    expect((caught as Error).message).toContain('sealedsecret "sealbox-system/evil"');
    expect((caught as Error).message).toContain(message);
  });
});
