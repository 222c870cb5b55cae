import { describe, expect, it } from 'vitest';
import type { Scope } from '../../../src/crypto/types.js';
import { SealboxError } from '../../../src/errors.js';
import { checkCompactAnswer, compactSealed } from '../../../src/format/compact.js';
import { mergeIntoSealed, sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import { vectorIdentity, vectorRecipient } from '../../helpers/keys.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const A = vectorRecipient('a');
const B = vectorRecipient('b');
const ours = (r: { type: string; id: string }): boolean => r.type === 'cert' && r.id === A.recipient.id;

/** A resource sealed for `wrappers`, then `merges` values merged in: merges + 1 groups. */
async function merged(scope: Scope, merges: number, wrappers = [A]): Promise<SealedSecret> {
  let s = await sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map([['user', bytes('u')]]) }, { scope, wrappers });
  for (let i = 1; i <= merges; i++) s = await mergeIntoSealed(s, new Map([[`k${i}`, bytes(`v${i}`)]]), { wrappers });
  return s;
}

async function thrown(p: Promise<unknown>): Promise<SealboxError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SealboxError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('compactSealed', () => {
  it.each<Scope>(['strict', 'namespace', 'cluster'])('seals every value of a %s resource under one new group, bound as before', async (scope) => {
    const before = await merged(scope, 4);
    const identity = vectorIdentity('a');
    const after = await compactSealed(before, [identity], { wrapper: A, replaces: ours }, 'db');
    expect(after.dataKeys).toHaveLength(1);
    expect(after.dataKeys[0]?.binding).toBe(before.dataKeys[0]?.binding);
    expect(after.scope).toBe(scope);
    checkCompactAnswer(before, after, 'db');
    const opsBefore = identity.privateOps;
    const opened = await unsealSealedSecret(after, [identity], 'db');
    expect(identity.privateOps - opsBefore).toBe(1);
    expect(Object.fromEntries([...opened.data].map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual({ user: 'u', k1: 'v1', k2: 'v2', k3: 'v3', k4: 'v4' });
  });

  it('refuses a resource moved to another namespace before any key operation', async () => {
    const before = await merged('strict', 2);
    const identity = vectorIdentity('a');
    const err = await thrown(compactSealed({ ...before, namespace: 'staging' }, [identity], { wrapper: A, replaces: ours }, 'db'));
    expect(err.code).toBe('SCOPE');
    expect(identity.privateOps).toBe(0);
  });

  it('refuses a group also sealed for another key (it would lose access), and one sealed only for others, before any key operation', async () => {
    const identity = vectorIdentity('a');
    const shared = await thrown(compactSealed(await merged('strict', 1, [A, B]), [identity], { wrapper: A, replaces: ours }, 'db'));
    expect(shared.code).toBe('INPUT');
    expect(shared.message).toContain('would lock that recipient out');
    const foreign = await thrown(compactSealed(await merged('strict', 1, [B]), [identity], { wrapper: A, replaces: ours }, 'db'));
    expect(foreign.code).toBe('NO_KEY');
    expect(identity.privateOps).toBe(0);
  });
});

describe('checkCompactAnswer', () => {
  it.each<[string, (before: SealedSecret, after: SealedSecret) => SealedSecret, string]>([
    ['keeps two groups', (b, a) => ({ ...a, dataKeys: [...(a.dataKeys), ...b.dataKeys.slice(0, 1)] }), 'data-key groups, not one'],
    ['widens the scope', (_b, a) => ({ ...a, scope: 'cluster' }), 'spec.scope'],
    ['binds the group elsewhere', (_b, a) => ({ ...a, dataKeys: a.dataKeys.map((g) => ({ ...g, binding: 'cluster' })) }), 'bound to another place'],
    ['drops a value', (_b, a) => ({ ...a, encryptedData: new Map([...a.encryptedData].slice(1)) }), 'the set of values'],
    ['keeps an old group', (b) => ({ ...b, dataKeys: b.dataKeys.slice(0, 1), encryptedData: new Map([...b.encryptedData].map(([k, v]) => [k, { ...v, groupId: b.dataKeys[0]?.id ?? '' }])) }), 'is not a new one'],
  ])('refuses an answer that %s', async (_what, edit, message) => {
    const before = await merged('strict', 2);
    const after = await compactSealed(before, [vectorIdentity('a')], { wrapper: A, replaces: ours }, 'db');
    let err: unknown;
    try {
      checkCompactAnswer(before, edit(before, after), 'db');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('TAMPERED');
    expect((err as SealboxError).message).toContain(message);
  });
});
