import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupIdOf, keyCheckOf, keyCommitmentOf } from '../../../src/crypto/aead.js';
import { DataKeyCache } from '../../../src/crypto/key-cache.js';
import type { Scope } from '../../../src/crypto/types.js';
import { encodeSealedValue } from '../../../src/crypto/value.js';
import { SealboxError } from '../../../src/errors.js';
import type { ErrorCode } from '../../../src/errors.js';
import { bindingOf, checkBinding, mergeIntoSealed, sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import type { SecretData } from '../../../src/format/secret.js';
import { scopeArb, secretDataArb } from '../../helpers/arbitraries.js';
import { vectorIdentity, vectorRecipient } from '../../helpers/keys.js';
import { LocalKey } from '../../helpers/local-key.js';
import { expectSealboxError } from '../../helpers/errors.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const MARKER = 'plaintext-marker-5e1f';
const secret: SecretData = {
  name: 'db',
  namespace: 'prod',
  type: 'kubernetes.io/basic-auth',
  immutable: true,
  labels: { app: 'db' },
  annotations: { owner: 'team' },
  data: new Map([
    ['username', bytes(`${MARKER}-user`)],
    ['password', bytes(`${MARKER}-password`)],
    ['blob', new Uint8Array([0xff, 0x00, 0xfe])],
    ['empty', new Uint8Array(0)],
  ]),
};
const local = new LocalKey('seal-test');

describe('sealSecret', () => {
  it('seals every value under one group bound to the secret', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    expect(s.dataKeys).toHaveLength(1);
    expect(s.dataKeys[0]?.binding).toBe('strict/prod/db');
    expect([...s.encryptedData.keys()]).toEqual(['username', 'password', 'blob', 'empty']);
    expect(s.template).toEqual({ type: 'kubernetes.io/basic-auth', immutable: true, labels: { app: 'db' }, annotations: { owner: 'team' } });
  });

  it('drops the label the controller sets, so a Secret read back from the cluster seals as it was', async () => {
    const s = await sealSecret({ ...secret, labels: { app: 'db', 'sealbox.dev/managed-by': 'sealbox' } }, { scope: 'strict', wrappers: [local] });
    expect(s.template.labels).toEqual({ app: 'db' });
  });

  it.each<[string, Partial<SecretData>, string]>([
    ['a service-account-token Secret', { type: 'kubernetes.io/service-account-token' }, 'template.type "kubernetes.io/service-account-token" is refused'],
    ['a sealing-key label', { labels: { 'sealbox.dev/sealing-key': 'true' } }, 'template.metadata.labels "sealbox.dev/sealing-key" uses the prefix sealbox.dev/'],
    ['a sealbox.dev annotation', { annotations: { 'sealbox.dev/created-at': '2999-01-01T00:00:00Z' } }, 'template.metadata.annotations "sealbox.dev/created-at"'],
  ])('refuses %s as INPUT, before any key is used', async (_what, over, message) => {
    await expectSealboxError(sealSecret({ ...secret, ...over }, { scope: 'strict', wrappers: [local] }), 'INPUT', message, { secrets: [MARKER] });
  });

  it('writes no group for a secret without values', async () => {
    const s = await sealSecret({ ...secret, data: new Map() }, { scope: 'strict', wrappers: [local] });
    expect(s.dataKeys).toEqual([]);
    expect(await unsealSealedSecret(s, [], 'r')).toMatchObject({ data: new Map() });
  });

  it.each<[Scope, string]>([
    ['strict', 'no namespace for secret "db"'],
    ['namespace', 'no namespace for secret "db"'],
  ])('refuses %s scope for a secret without a namespace', async (scope, message) => {
    await expectSealboxError(sealSecret({ ...secret, namespace: '' }, { scope, wrappers: [local] }), 'INPUT', message, { secrets: [MARKER] });
  });

  it('seals a cluster-scoped secret without a namespace', async () => {
    const s = await sealSecret({ ...secret, namespace: '' }, { scope: 'cluster', wrappers: [local] });
    expect(s.dataKeys[0]?.binding).toBe('cluster');
  });

  it('gives different ciphertexts when the same secret is sealed twice', async () => {
    const a = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    const b = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    for (const key of secret.data.keys()) {
      const [va, vb] = [a.encryptedData.get(key), b.encryptedData.get(key)];
      expect(va && encodeSealedValue(va)).not.toBe(vb && encodeSealedValue(vb));
    }
  });
});

describe('unsealSealedSecret', () => {
  it('gives back the secret it was sealed from', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    expect(await unsealSealedSecret(s, [local], 'r')).toEqual(secret);
  });

  it('costs one RSA private operation per data-key group, not one per value', async () => {
    const a = vectorRecipient('a');
    const values = new Map(Array.from({ length: 25 }, (_, i) => [`key${i}`, bytes(`value ${i}`)] as const));
    let sealed = await sealSecret({ ...secret, data: values }, { scope: 'strict', wrappers: [a] });
    const once = vectorIdentity('a');
    await unsealSealedSecret(sealed, [once], 'r');
    expect(once.privateOps).toBe(1);
    sealed = await mergeIntoSealed(sealed, new Map([['key3', bytes('new')]]), { wrappers: [a] });
    sealed = await mergeIntoSealed(sealed, new Map([['extra', bytes('x')]]), { wrappers: [a] });
    const twice = vectorIdentity('a');
    const out = await unsealSealedSecret(sealed, [twice], 'r');
    expect(sealed.dataKeys).toHaveLength(3);
    expect(twice.privateOps).toBe(3);
    expect(out.data.size).toBe(26);
  });

  it('unwraps a group it has seen before from the cache, with no private operation', async () => {
    const sealed = await sealSecret(secret, { scope: 'strict', wrappers: [vectorRecipient('a')] });
    const identity = vectorIdentity('a');
    const cache = new DataKeyCache(10);
    await unsealSealedSecret(sealed, [identity], 'r', cache);
    expect(await unsealSealedSecret(sealed, [identity], 'r', cache)).toEqual(secret);
    expect(identity.privateOps).toBe(1);
  });

  it('refuses a 16-byte data key wrapped for the cluster key by an attacker as TAMPERED, not as an internal failure', async () => {
    const short = new Uint8Array(16).fill(9);
    const b = { scope: 'strict', namespace: 'prod', name: 'db' } as const;
    const stanza = await vectorRecipient('a').wrap(short, b);
    const id = groupIdOf(short);
    // Everything the attacker can make consistent with his short key is: id, commitment, key check.
    const body = Buffer.concat([keyCheckOf(short, 'password'), Buffer.alloc(12 + 16, 1)]);
    const forged: SealedSecret = {
      ...(await sealSecret(secret, { scope: 'strict', wrappers: [local] })),
      encryptedData: new Map([['password', { groupId: id, sealed: new Uint8Array(body) }]]),
      dataKeys: [{ id, commitment: keyCommitmentOf(short), binding: 'strict/prod/db', recipients: [stanza] }],
    };
    await expectSealboxError(unsealSealedSecret(forged, [vectorIdentity('a')], 'sealed secret "prod/db"'), 'TAMPERED', 'data key is 16 bytes, not 32', { secrets: [MARKER] });
  });

  it('skips a group no value uses', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    const stale: SealedSecret = { ...s, dataKeys: [...s.dataKeys, { id: 'ffffffffffffffff', commitment: 'f'.repeat(64), binding: 'strict/prod/db', recipients: [{ type: 'cert', id: 'f'.repeat(64), wrapped: new Uint8Array(1) }] }] };
    expect((await unsealSealedSecret(stale, [local], 'r')).data.size).toBe(4);
  });

  it.each<[string, (s: SealedSecret) => SealedSecret, ErrorCode, string]>([
    ['a strict resource renamed', (s) => ({ ...s, name: 'db2' }), 'SCOPE', 'is bound to secret name "db" but the resource is named "db2"'],
    ['a strict resource moved to another namespace', (s) => ({ ...s, namespace: 'staging' }), 'SCOPE', 'is bound to namespace "prod" but was found in "staging"'],
    ['a strict resource with no namespace', (s) => ({ ...s, namespace: '' }), 'INPUT', 'no namespace'],
    ['a scope widened to cluster', (s) => ({ ...s, scope: 'cluster' }), 'SCOPE', 'was sealed with scope "strict" but the resource says "cluster"'],
    ['a value moved to another key name', (s) => ({ ...s, encryptedData: swap(s, 'username', 'password') }), 'SCOPE', 'value "username" was sealed under another key name'],
    ['a group binding edited to hide a rename', (s) => ({ ...s, name: 'db2', dataKeys: s.dataKeys.map((g) => ({ ...g, binding: 'strict/prod/db2' })) }), 'TAMPERED', 'does not open'],
    ['a recorded binding that is garbage', (s) => ({ ...s, dataKeys: s.dataKeys.map((g) => ({ ...g, binding: 'strict/prod/db/x' })) }), 'SCOPE', 'records binding "strict/prod/db/x"'],
    ['a bit flipped in a value', (s) => ({ ...s, encryptedData: flipped(s, 'password') }), 'TAMPERED', 'value "password" does not authenticate'],
  ])('refuses %s', async (_what, edit, code, message) => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    await expectSealboxError(unsealSealedSecret(edit(s), [local], 'sealed secret "prod/db"'), code, message, { secrets: [MARKER] });
  });

  it('unseals a namespace-scoped resource under another name, and refuses it in another namespace', async () => {
    const s = await sealSecret(secret, { scope: 'namespace', wrappers: [local] });
    expect((await unsealSealedSecret({ ...s, name: 'other' }, [local], 'r')).name).toBe('other');
    await expectSealboxError(unsealSealedSecret({ ...s, namespace: 'staging' }, [local], 'r'), 'SCOPE', /^r: data-key group [0-9a-f]{16} is bound to namespace "prod" but was found in "staging"/, { secrets: [MARKER] });
  });

  it('unseals a cluster-scoped resource anywhere', async () => {
    const s = await sealSecret(secret, { scope: 'cluster', wrappers: [local] });
    expect((await unsealSealedSecret({ ...s, name: 'x', namespace: 'y' }, [local], 'r')).data).toEqual(secret.data);
  });

  it('returns what was sealed for any values under any valid key names, bytes not UTF-8 included (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scopeArb.chain((scope) => fc.tuple(fc.constant(scope), secretDataArb(scope))), async ([scope, s]) => {
        const sealed = await sealSecret(s, { scope, wrappers: [local] });
        expect(await unsealSealedSecret(sealed, [local], 'r')).toEqual(s);
      }),
    );
  });

  it('returns what was sealed through the RSA cluster key (property)', async () => {
    const a = vectorRecipient('a');
    const identity = vectorIdentity('a');
    await fc.assert(
      fc.asyncProperty(secretDataArb('strict'), async (s) => {
        expect(await unsealSealedSecret(await sealSecret(s, { scope: 'strict', wrappers: [a] }), [identity], 'r')).toEqual(s);
      }),
      { numRuns: 15 },
    );
  });
});

describe('checkBinding', () => {
  it('accepts a resource where it was sealed', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    expect(() => {
      checkBinding(s, 'r');
    }).not.toThrow();
    expect(bindingOf(s)).toEqual({ scope: 'strict', namespace: 'prod', name: 'db' });
  });
});

describe('mergeIntoSealed', () => {
  it('adds and replaces values in a new group, leaving every other value byte-identical', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    const merged = await mergeIntoSealed(s, new Map([['password', bytes('new')], ['host', bytes('h')]]), { wrappers: [local] });
    expect(merged.dataKeys).toHaveLength(2);
    for (const key of ['username', 'blob', 'empty']) expect(merged.encryptedData.get(key)).toBe(s.encryptedData.get(key));
    expect(merged.encryptedData.get('password')?.groupId).toBe(merged.dataKeys[1]?.id);
    const out = await unsealSealedSecret(merged, [local], 'r');
    expect(out.data.get('password')).toEqual(bytes('new'));
    expect(out.data.get('username')).toEqual(secret.data.get('username'));
    expect(out.data.get('host')).toEqual(bytes('h'));
  });

  it('drops a group left without values', async () => {
    const s = await sealSecret({ ...secret, data: new Map([['only', bytes('1')]]) }, { scope: 'strict', wrappers: [local] });
    const merged = await mergeIntoSealed(s, new Map([['only', bytes('2')]]), { wrappers: [local] });
    expect(merged.dataKeys.map((g) => g.id)).toEqual([merged.encryptedData.get('only')?.groupId]);
  });

  it('changes nothing when there is nothing to merge', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    expect(await mergeIntoSealed(s, new Map(), { wrappers: [local] })).toBe(s);
  });

  it('refuses to merge into a resource that was moved', async () => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    await expectSealboxError(mergeIntoSealed({ ...s, namespace: 'staging' }, new Map([['a', bytes('1')]]), { wrappers: [local] }), 'SCOPE', /^sealed secret "db": data-key group [0-9a-f]{16} is bound to namespace "prod" but was found in "staging"/, { secrets: [MARKER] });
  });
});

function swap(s: SealedSecret, a: string, b: string): Map<string, NonNullable<ReturnType<SealedSecret['encryptedData']['get']>>> {
  const m = new Map(s.encryptedData);
  const [va, vb] = [m.get(a), m.get(b)];
  if (va === undefined || vb === undefined) throw new Error('missing value');
  m.set(a, vb);
  m.set(b, va);
  return m;
}

function flipped(s: SealedSecret, key: string): Map<string, NonNullable<ReturnType<SealedSecret['encryptedData']['get']>>> {
  const m = new Map(s.encryptedData);
  const v = m.get(key);
  if (v === undefined) throw new Error('missing value');
  const sealed = Uint8Array.from(v.sealed);
  sealed[20] = (sealed[20] ?? 0) ^ 1;
  m.set(key, { ...v, sealed });
  return m;
}

describe('checkBinding with a hostile recorded binding (issue 11, item 6a)', () => {
  it.each<[string, string]>([
    ['a 1.2 MB binding without a slash', 'x'.repeat(1_200_000)],
    ['a 1.2 MB namespace in the binding', `strict/${'n'.repeat(1_200_000)}/db`],
    ['a 1.2 MB name in the binding', `strict/prod/${'d'.repeat(1_200_000)}`],
    ['control and bidirectional characters', 'strict\u202e/\u001b[31mprod/db'],
  ])('quotes %s only in a bounded, escaped form', async (_name, recorded) => {
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [local] });
    const forged: SealedSecret = { ...s, dataKeys: s.dataKeys.map((g) => ({ ...g, binding: recorded })) };
    let message = '';
    try {
      checkBinding(forged, 'sealed secret "prod/db"');
    } catch (err) {
      expect(err).toBeInstanceOf(SealboxError);
      message = (err as SealboxError).message;
    }
    expect(message).toContain('sealed secret "prod/db"');
    expect(message.length).toBeLessThan(700);
    expect([...message].some((c) => c.charCodeAt(0) < 0x20 || c === "\u202e")).toBe(false);
  });
});
