import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { V1Secret } from '../../../src/kube/types.js';
import type { Owner } from '../../../src/controller/plan.js';
import { MANAGED_LABEL, plan } from '../../../src/controller/plan.js';
import { summarizeDesired, summarizeSecret } from '../../../src/controller/secret-cache.js';
import type { SecretData } from '../../../src/format/secret.js';

const owner: Owner = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', namespace: 'prod', uid: 'uid-1' };
const ref = { apiVersion: 'sealbox.dev/v1', kind: 'SealedSecret', name: 'db', uid: 'uid-1', controller: true };
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const LONG = 'l'.repeat(500);
/** The text the summary once kept for LONG: an editor of the Secret can write it as the annotation's value. */
const LONG_AS_DIGEST = `sha256:${createHash('sha256').update(LONG).digest('base64')}`;

function desired(over: Partial<SecretData> = {}): SecretData {
  return { name: 'db', namespace: 'prod', type: 'Opaque', labels: { app: 'db' }, annotations: { note: 'hi', long: LONG }, data: new Map([['pw', new Uint8Array(Buffer.from('s3cret'))]]), ...over };
}

function existing(over: Partial<V1Secret> = {}, meta: V1Secret['metadata'] = {}): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'db', namespace: 'prod', uid: 'secret-uid', resourceVersion: '7',
      labels: { app: 'db', [MANAGED_LABEL]: 'sealbox' }, annotations: { note: 'hi', long: LONG }, ownerReferences: [ref], ...meta,
    },
    type: 'Opaque',
    data: { pw: b64('s3cret') },
    ...over,
  };
}

const MANY = new Map(Array.from({ length: 500 }, (_, i) => [`k${String(i)}`, new Uint8Array(Buffer.from(`v${String(i)}`))]));
const MANY_B64 = Object.fromEntries([...MANY].map(([k, v]) => [k, Buffer.from(v).toString('base64')]));

/** What the reconciler's cache check decides: `none` means no request at all. */
const quick = (s: V1Secret, d: SecretData, patch = false): string => plan(owner, summarizeSecret(s), summarizeDesired(d), { patch }).action;

describe('summarizeSecret', () => {
  it('keeps no value of a Secret a sealed resource controls, only digests', () => {
    const s = summarizeSecret(existing({ data: { pw: b64('s3cret'), big: b64('x'.repeat(100_000)) } }, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"pw":"${b64('s3cret')}"}}`, long: LONG } }));
    const text = JSON.stringify(s);
    expect(text).not.toContain(b64('s3cret'));
    expect(text).not.toContain(LONG);
    expect(text.length).toBeLessThan(1000);
    expect(s.metadata?.ownerReferences).toEqual([ref]);
    expect(s.type).toBe('Opaque');
  });

  it('keeps only the identity of a Secret no sealed resource controls, however it is labelled', () => {
    const s = summarizeSecret(existing({ data: { big: b64('x'.repeat(1_000_000)) } }, { ownerReferences: [] }));
    expect(s).toEqual({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'db', namespace: 'prod', uid: 'secret-uid', resourceVersion: '7' } });
  });

  it('keeps one digest for a Secret of many keys, so 30,000 empty values cost less than a kilobyte (re-attack)', () => {
    const data = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${String(i)}`, '']));
    const s = summarizeSecret(existing({ data }));
    expect(JSON.stringify(s).length).toBeLessThan(1000);
  });

  it('is idempotent', () => {
    const s = summarizeSecret(existing());
    const once = JSON.stringify(s);
    expect(JSON.stringify(summarizeSecret(s))).toBe(once);
  });
});

describe('the cache check (plan on summaries)', () => {
  it.each<[string, V1Secret, SecretData, boolean, string]>([
    ['a Secret that matches Git', existing(), desired(), false, 'none'],
    ['a Secret with extra keys in patch mode', existing({ data: { pw: b64('s3cret'), other: b64('kept') } }), desired(), true, 'none'],
    ['a changed value (drift)', existing({ data: { pw: b64('changed') } }), desired(), false, 'update'],
    ['a changed value in patch mode', existing({ data: { pw: b64('changed'), other: b64('kept') } }), desired(), true, 'update'],
    ['an extra key', existing({ data: { pw: b64('s3cret'), other: b64('x') } }), desired(), false, 'update'],
    ['a changed long annotation', existing({}, { annotations: { note: 'hi', long: `${LONG}!` } }), desired(), false, 'update'],
    ['a long annotation replaced by the text of its digest (attack17)', existing({}, { annotations: { note: 'hi', long: LONG_AS_DIGEST } }), desired(), false, 'update'],
    ['a short annotation Git wants, replaced by a value whose digest it spells (attack17)', existing({}, { annotations: { note: 'hi', long: LONG } }), desired({ annotations: { note: 'hi', long: LONG_AS_DIGEST } }), false, 'update'],
    ['another type', existing({ type: 'kubernetes.io/tls' }), desired(), false, 'recreate'],
    ['a Secret of many keys that matches Git', existing({ data: MANY_B64 }), desired({ data: MANY }), false, 'none'],
    ['a Secret of many keys with one value changed', existing({ data: { ...MANY_B64, k7: b64('changed') } }), desired({ data: MANY }), false, 'update'],
    ['a Secret of many keys with one key more', existing({ data: { ...MANY_B64, extra: '' } }), desired({ data: MANY }), false, 'update'],
    ['a Secret someone else owns', existing({}, { ownerReferences: [] }), desired(), false, 'refuse'],
  ])('is "none" only when the full plan would be: %s', (_name, s, d, patch, want) => {
    const full = plan(owner, structuredClone(s), d, { patch }).action;
    expect(full).toBe(want);
    expect(quick(s, d, patch) === 'none').toBe(want === 'none');
  });
});
