import { describe, expect, it } from 'vitest';
import type { V1Secret } from '../../../src/kube/types.js';
import type { Owner } from '../../../src/controller/plan.js';
import { MANAGED_LABEL, TAKEOVER_ANNOTATION, isOwnedBy, plan } from '../../../src/controller/plan.js';
import type { SecretData } from '../../../src/format/secret.js';

const owner: Owner = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', namespace: 'prod', uid: 'uid-1' };
const ref = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', uid: 'uid-1', controller: true };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function desired(over: Partial<SecretData> = {}): SecretData {
  return { name: 'db', namespace: 'prod', type: 'Opaque', labels: { app: 'db' }, annotations: {}, data: new Map([['pw', new Uint8Array(Buffer.from('s3cret'))]]), ...over };
}

function existing(over: Partial<V1Secret> = {}, meta: V1Secret['metadata'] = {}): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'prod', uid: 'secret-uid', resourceVersion: '7', labels: { app: 'db', [MANAGED_LABEL]: 'sealbox' }, ownerReferences: [ref], ...meta },
    type: 'Opaque',
    data: { pw: b64('s3cret') },
    ...over,
  };
}

describe('plan', () => {
  it('creates a missing Secret with the template metadata, the managed label and a controller owner reference', () => {
    const p = plan(owner, undefined, desired(), { patch: false });
    expect(p.action).toBe('create');
    if (p.action !== 'create') return;
    expect(p.secret.metadata?.ownerReferences).toEqual([ref]);
    expect(p.secret.metadata?.labels).toEqual({ app: 'db', [MANAGED_LABEL]: 'sealbox' });
    expect(p.secret.data).toEqual({ pw: b64('s3cret') });
    expect(p.secret.type).toBe('Opaque');
  });

  it('does nothing when the Secret already matches, so a resync writes nothing', () => {
    expect(plan(owner, existing(), desired(), { patch: false })).toEqual({ action: 'none' });
  });

  it.each([
    ['data edited by hand', existing({ data: { pw: b64('changed') } })],
    ['an extra key added by hand', existing({ data: { pw: b64('s3cret'), extra: b64('x') } })],
    ['a template label removed', existing({}, { labels: { [MANAGED_LABEL]: 'sealbox' } })],
    ['the managed label removed', existing({}, { labels: { app: 'db' } })],
  ])('reverts drift: %s', (_what, secret) => {
    const p = plan(owner, secret, desired(), { patch: false });
    expect(p.action).toBe('update');
    if (p.action !== 'update') return;
    expect(p.secret.data).toEqual({ pw: b64('s3cret') });
    expect(p.secret.metadata?.resourceVersion).toBe('7');
  });

  it('keeps labels and annotations other tools added', () => {
    const secret = existing({ data: { pw: b64('old') } }, { annotations: { 'other.io/x': '1' }, labels: { app: 'db', [MANAGED_LABEL]: 'sealbox', team: 'a' } });
    const p = plan(owner, secret, desired(), { patch: false });
    if (p.action !== 'update') throw new Error(`expected update, got ${p.action}`);
    expect(p.secret.metadata?.annotations).toEqual({ 'other.io/x': '1' });
    expect(p.secret.metadata?.labels?.team).toBe('a');
  });

  it('in patch mode keeps keys it does not manage and writes nothing when its own keys match', () => {
    const secret = existing({ data: { pw: b64('s3cret'), extra: b64('x') } });
    expect(plan(owner, secret, desired(), { patch: true })).toEqual({ action: 'none' });
    const drifted = existing({ data: { pw: b64('nope'), extra: b64('x') } });
    const p = plan(owner, drifted, desired(), { patch: true });
    if (p.action !== 'update') throw new Error(`expected update, got ${p.action}`);
    expect(p.secret.data).toEqual({ pw: b64('s3cret'), extra: b64('x') });
  });

  it.each([
    ['has no owner', existing({}, { ownerReferences: [] })],
    ['is controlled by another object', existing({}, { ownerReferences: [{ ...ref, uid: 'other' }] })],
    ['is controlled by another object even with the take-over annotation', existing({}, { ownerReferences: [{ ...ref, uid: 'other' }], annotations: { [TAKEOVER_ANNOTATION]: 'true' } })],
    ['says take-over "false"', existing({}, { ownerReferences: [], annotations: { [TAKEOVER_ANNOTATION]: 'false' } })],
  ])('refuses a Secret that %s', (_what, secret) => {
    const p = plan(owner, secret, desired(), { patch: false });
    expect(p.action).toBe('refuse');
    if (p.action === 'refuse') expect(p.message).toContain(TAKEOVER_ANNOTATION);
  });

  it('adopts an unowned Secret annotated for take-over, replacing its data and adding the owner reference', () => {
    const secret = existing({ data: { legacy: b64('x') } }, { ownerReferences: [], labels: {}, annotations: { [TAKEOVER_ANNOTATION]: 'true' } });
    const p = plan(owner, secret, desired(), { patch: false });
    if (p.action !== 'update') throw new Error(`expected update, got ${p.action}`);
    expect(p.secret.metadata?.ownerReferences).toEqual([ref]);
    expect(p.secret.data).toEqual({ pw: b64('s3cret') });
  });

  it.each([
    ['the type changes', existing({ type: 'kubernetes.io/basic-auth' })],
    ['an immutable Secret must change its data', existing({ immutable: true, data: { pw: b64('old') } })],
  ])('re-creates the Secret when %s', (_what, secret) => {
    const p = plan(owner, secret, desired(), { patch: false });
    expect(p.action).toBe('recreate');
    if (p.action !== 'recreate') return;
    expect(p.uid).toBe('secret-uid');
    expect(p.secret.metadata?.resourceVersion).toBeUndefined();
    expect(p.secret.metadata?.uid).toBeUndefined();
  });

  it('tells an owned Secret from one owned by a non-controller reference', () => {
    expect(isOwnedBy(existing(), owner)).toBe(true);
    expect(isOwnedBy(existing({}, { ownerReferences: [{ ...ref, controller: false }] }), owner)).toBe(false);
  });
});

describe('plan: adopting the Secret of a converted Sealed Secrets SealedSecret (sealbox convert)', () => {
  const bitnamiRef = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db', uid: 'bitnami-uid', controller: true, blockOwnerDeletion: true };
  const bitnamiSecret = (over: Partial<V1Secret> = {}, ref: object = bitnamiRef): V1Secret => existing(over, { labels: { app: 'db' }, ownerReferences: [ref as typeof bitnamiRef] });

  it('moves the controller reference from the bitnami SealedSecret to the sealed resource, data and uid untouched', () => {
    const p = plan(owner, bitnamiSecret(), desired(), { patch: false });
    expect(p.action).toBe('update');
    if (p.action !== 'update') return;
    expect(p.secret.metadata?.ownerReferences).toEqual([ref]);
    expect(p.secret.metadata?.uid).toBe('secret-uid');
    expect(p.secret.data).toEqual({ pw: b64('s3cret') });
    expect(p.secret.metadata?.labels).toEqual({ app: 'db', [MANAGED_LABEL]: 'sealbox' });
  });

  it.each([
    ['its values differ', bitnamiSecret({ data: { pw: b64('other') } })],
    ['it has a value the sealed resource lacks', bitnamiSecret({ data: { pw: b64('s3cret'), extra: b64('x') } })],
    ['its type differs (adopting would re-create it)', bitnamiSecret({ type: 'kubernetes.io/basic-auth' })],
    ['it is immutable and the sealed resource is not (adopting would re-create it)', bitnamiSecret({ immutable: true })],
    ['its bitnami SealedSecret has another name', bitnamiSecret({}, { ...bitnamiRef, name: 'other' })],
    ['its controller is something else', bitnamiSecret({}, { ...bitnamiRef, apiVersion: 'example.com/v1' })],
  ])('refuses (SecretNotOwned) when %s', (_what, secret) => {
    expect(plan(owner, secret, desired(), { patch: false })).toMatchObject({ action: 'refuse', reason: 'SecretNotOwned' });
  });
});
