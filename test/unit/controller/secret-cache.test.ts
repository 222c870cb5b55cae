import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { V1Secret } from '../../../src/kube/types.js';
import type { Owner } from '../../../src/controller/plan.js';
import { MANAGED_LABEL, plan } from '../../../src/controller/plan.js';
import { secretDigest, summarizeSecret } from '../../../src/controller/secret-cache.js';
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

/** The Secret sealbox would create for `d`: what the reconciler compares a cached digest with. */
function created(d: SecretData): V1Secret {
  const p = plan(owner, undefined, d, { patch: false });
  if (p.action !== 'create') throw new Error(`expected a create, got ${p.action}`);
  return p.secret;
}

describe('summarizeSecret', () => {
  it('keeps no value and no annotation of a Secret a sealed resource controls: its identity, owner and one digest', () => {
    const s = summarizeSecret(existing({ data: { pw: b64('s3cret'), big: b64('x'.repeat(100_000)) } }, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"pw":"${b64('s3cret')}"}}`, long: LONG } }));
    const text = JSON.stringify(s);
    expect(text).not.toContain(b64('s3cret'));
    expect(text).not.toContain('xxxx');
    expect(text).not.toContain(LONG);
    // its own fields, and the resourceVersion behind a getter (a KeptVersion)
    expect({ ...s }).toEqual({ name: 'db', namespace: 'prod', owner: 'db', digest: expect.stringMatching(/^[\w-]{22}$/) as unknown });
    expect(s.metadata).toMatchObject({ name: 'db', namespace: 'prod', resourceVersion: '7' });
  });

  it('keeps only the identity of a Secret no sealed resource controls, however it is labelled', () => {
    const s = summarizeSecret(existing({ data: { big: b64('x'.repeat(1_000_000)) } }, { ownerReferences: [] }));
    expect({ ...s }).toEqual({ name: 'db', namespace: 'prod', owner: undefined, digest: '' });
    expect(s.metadata.resourceVersion).toBe('7');
  });

  it('keeps only the identity of a Secret whose ownerReference names no possible sealed resource (a megabyte name)', () => {
    const s = summarizeSecret(existing({}, { ownerReferences: [{ ...ref, name: 'n'.repeat(1_000_000) }] }));
    expect(JSON.stringify(s).length).toBeLessThan(200);
    expect({ ...s }).toEqual({ name: 'db', namespace: 'prod', owner: undefined, digest: '' });
    expect(s.metadata.resourceVersion).toBe('7');
    expect(summarizeSecret(existing({}, { ownerReferences: [{ ...ref, name: 'a/b' }] })).owner).toBeUndefined();
    expect(summarizeSecret(existing({}, { ownerReferences: [{ ...ref, name: `a${'.b'.repeat(126)}` }] })).owner).toBe(`a${'.b'.repeat(126)}`);
  });

  it('keeps one digest for a Secret of many keys, so 30,000 empty values cost what one does (re-attack)', () => {
    const data = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${String(i)}`, '']));
    expect(JSON.stringify(summarizeSecret(existing({ data }))).length).toBe(JSON.stringify(summarizeSecret(existing())).length);
  });

  it('leaves the Secret it is given as it was', () => {
    const s = existing();
    const before = structuredClone(s);
    summarizeSecret(s);
    expect(s).toEqual(before);
  });
});

describe('secretDigest', () => {
  it('of a Secret as sealbox writes it equals that of the Secret it would create (so the cache alone says "nothing to write")', () => {
    expect(secretDigest(existing())).toBe(secretDigest(created(desired())));
    // what the server adds or the cache drops does not count
    expect(secretDigest(existing({}, { resourceVersion: '8', managedFields: [{ manager: 'x' }], annotations: { note: 'hi', long: LONG, 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }))).toBe(secretDigest(created(desired())));
  });

  it.each<[string, V1Secret]>([
    ['a changed value', existing({ data: { pw: b64('changed') } })],
    ['a value moved to another key', existing({ data: { pW: b64('s3cret') } })],
    ['an extra key', existing({ data: { pw: b64('s3cret'), other: '' } })],
    ['a changed label', existing({}, { labels: { app: 'web', [MANAGED_LABEL]: 'sealbox' } })],
    ['an extra label', existing({}, { labels: { app: 'db', extra: '', [MANAGED_LABEL]: 'sealbox' } })],
    ['a changed long annotation', existing({}, { annotations: { note: 'hi', long: `${LONG}!` } })],
    ['a label turned into an annotation', existing({}, { labels: { [MANAGED_LABEL]: 'sealbox' }, annotations: { note: 'hi', long: LONG, app: 'db' } })],
    ['another type', existing({ type: 'kubernetes.io/tls' })],
    ['immutable set', existing({ immutable: true })],
    ['another controller', existing({}, { ownerReferences: [{ ...ref, uid: 'uid-2' }] })],
    ['a long annotation replaced by the text of its digest (attack17)', existing({}, { annotations: { note: 'hi', long: LONG_AS_DIGEST } })],
  ])('differs for %s', (_name, s) => {
    expect(secretDigest(s)).not.toBe(secretDigest(created(desired())));
  });

  it('differs when Git wants a short annotation that spells the digest of the value the Secret has (attack17)', () => {
    expect(secretDigest(existing())).not.toBe(secretDigest(created(desired({ annotations: { note: 'hi', long: LONG_AS_DIGEST } }))));
  });
});
