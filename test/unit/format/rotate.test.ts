import { describe, expect, it } from 'vitest';
import type { Binding, KeyUnwrapper, RecipientRef, WrappedKey } from '../../../src/crypto/types.js';
import { encodeSealedValue } from '../../../src/crypto/value.js';
import type { RotateOptions, RotationTarget } from '../../../src/format/rotate.js';
import { needsRotation, planRotation, rewrapSealed, rotateSealed } from '../../../src/format/rotate.js';
import { DataKeyCache } from '../../../src/crypto/key-cache.js';
import { mergeIntoSealed, sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import type { SecretData } from '../../../src/format/secret.js';
import { expectSealboxError } from '../../helpers/errors.js';
import { LocalKey } from '../../helpers/local-key.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const secret: SecretData = {
  name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {},
  data: new Map([['user', bytes('admin')], ['password', bytes('hunter2')]]),
};
const target = (k: LocalKey): RotationTarget => ({ ref: k.recipient, wrapper: k });
const values = (s: SealedSecret): string[] => [...s.encryptedData.values()].map(encodeSealedValue);
const plain = async (s: SealedSecret, u: KeyUnwrapper[]): Promise<Record<string, string>> =>
  Object.fromEntries([...(await unsealSealedSecret(s, u, 'r')).data].map(([k, v]) => [k, Buffer.from(v).toString()]));

/** Two groups: one from sealing with `a`, one merged in with `a`. */
async function twoGroups(a: LocalKey): Promise<SealedSecret> {
  const s = await sealSecret(secret, { scope: 'strict', wrappers: [a] });
  return mergeIntoSealed(s, new Map([['token', bytes('t0k3n')]]), { wrappers: [a] });
}

describe('rotateSealed', () => {
  it('adds the target to every group, keeps every value and existing stanza byte-identical', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const s = await twoGroups(a);

    const { sealed, groups } = await rotateSealed(s, [a], { targets: [target(b)] }, 'r');

    expect(groups.map((g) => g.added)).toEqual([[`aws-kms:${b.recipient.id}`], [`aws-kms:${b.recipient.id}`]]);
    expect(values(sealed)).toEqual(values(s));
    sealed.dataKeys.forEach((g, i) => { expect(g.recipients[0]).toBe(s.dataKeys[i]?.recipients[0]); });
    expect(await plain(sealed, [b])).toEqual({ user: 'admin', password: 'hunter2', token: 't0k3n' });
  });

  it('changes nothing, and unwraps nothing, when every group already has the targets', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const once = (await rotateSealed(await twoGroups(a), [a], { targets: [target(b)] }, 'r')).sealed;
    const before = a.unwraps;

    const again = await rotateSealed(once, [a], { targets: [target(a), target(b)] }, 'r');

    expect(again.sealed).toBe(once);
    expect(again.groups).toEqual([]);
    expect(a.unwraps).toBe(before);
  });

  it('removes a recipient and replaces a superseded one, leaving other stanzas as they were', async () => {
    const a = new LocalKey('a');
    const old = new LocalKey('old');
    const next = new LocalKey('next');
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [a, old] });
    const isOld = (r: RecipientRef): boolean => r.id === old.recipient.id;

    const { sealed } = await rotateSealed(s, [a], { targets: [{ ...target(next), supersedes: isOld }] }, 'r');

    expect(sealed.dataKeys[0]?.recipients.map((r) => r.id)).toEqual([a.recipient.id, next.recipient.id]);
    expect(sealed.dataKeys[0]?.recipients[0]).toBe(s.dataKeys[0]?.recipients[0]);
    expect(await plain(sealed, [next])).toEqual({ user: 'admin', password: 'hunter2' });
  });

  it('refuses to leave a group without recipients, naming the group, before any call', async () => {
    const a = new LocalKey('a');
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [a] });
    const opts: RotateOptions = { targets: [], remove: () => true };

    const message = `would leave data-key group ${s.dataKeys[0]?.id ?? ''} without recipients`;
    await expectSealboxError(rotateSealed(s, [], opts, 'sealed secret "prod/db"'), 'INPUT', message);
    expectSealboxError(() => planRotation(s, opts, 'r'), 'INPUT', message);
  });

  it('re-wraps through the rewrap hook without unwrapping when the key service can', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [a] });
    const calls: string[] = [];
    // Stands for ReEncrypt: a's stanza becomes b's inside "the service" (here: a then b in-process).
    const rewrap = async (stanza: WrappedKey, binding: Binding, t: RotationTarget): Promise<WrappedKey | null> => {
      calls.push(`${stanza.id}->${t.ref.id}`);
      const dataKey = await a.unwrap(stanza, binding);
      return dataKey === null ? null : t.wrapper.wrap(dataKey, binding);
    };

    const { sealed } = await rotateSealed(s, [], { targets: [target(b)], rewrap }, 'r');

    expect(calls).toEqual([`${a.recipient.id}->${b.recipient.id}`]);
    expect(await plain(sealed, [b])).toEqual({ user: 'admin', password: 'hunter2' });
  });

  it('reports NO_KEY when a group must be unwrapped and no key can', async () => {
    const a = new LocalKey('a');
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [a] });

    await expectSealboxError(rotateSealed(s, [], { targets: [target(new LocalKey('b'))] }, 'r'), 'NO_KEY', `r: no key was given to unwrap data-key group ${s.dataKeys[0]?.id ?? ''}`);
  });

  it('seals every value again under one fresh data key with newDataKey, for kept and target recipients', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const s = await twoGroups(a);

    const r = await rotateSealed(s, [a], { targets: [target(b)], newDataKey: true, wrapperOf: (x) => Promise.resolve(x.id === a.recipient.id ? a : undefined) }, 'r');

    expect(r.sealed.dataKeys).toHaveLength(1);
    expect(r.newDataKey?.replaced).toEqual(s.dataKeys.map((g) => g.id));
    expect(values(r.sealed).some((v) => values(s).includes(v))).toBe(false);
    expect(r.sealed.dataKeys[0]?.recipients.map((x) => x.id).sort()).toEqual([a.recipient.id, b.recipient.id].sort());
    expect(await plain(r.sealed, [a])).toEqual({ user: 'admin', password: 'hunter2', token: 't0k3n' });
    expect(await plain(r.sealed, [b])).toEqual({ user: 'admin', password: 'hunter2', token: 't0k3n' });
  });

  it('refuses newDataKey when a kept recipient has no known wrapper, naming it', async () => {
    const a = new LocalKey('a');
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [a] });

    await expectSealboxError(rotateSealed(s, [a], { targets: [], newDataKey: true }, 'r'), 'INPUT', `aws-kms:${a.recipient.id} is not known here`);
  });
});

describe('needsRotation', () => {
  it.each<[string, (a: LocalKey, b: LocalKey) => RotateOptions, boolean]>([
    ['a target the group has', (a) => ({ targets: [target(a)] }), false],
    ['a target the group lacks', (_a, b) => ({ targets: [target(b)] }), true],
    ['a removal that matches', (_a, b) => ({ targets: [target(b)], remove: () => true }), true],
    ['a removal that matches nothing', (a) => ({ targets: [target(a)], remove: (r) => r.id === 'nope' }), false],
    ['a new data key', () => ({ targets: [], newDataKey: true }), true],
  ])('is %s → %s', async (_name, opts, expected) => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const s = await sealSecret(secret, { scope: 'strict', wrappers: [a] });
    expect(needsRotation(s, opts(a, b), 'r')).toBe(expected);
  });
});

describe('rewrapSealed', () => {
  it('re-wraps every group to the new key, drops the old stanzas and keeps every value byte-identical', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const s = await twoGroups(a);

    const next = await rewrapSealed(s, [a], { wrappers: [b], drop: (r) => r.id === a.recipient.id }, 'r');

    expect(next.dataKeys.map((g) => g.recipients.map((r) => r.id))).toEqual([[b.recipient.id], [b.recipient.id]]);
    expect(values(next)).toEqual(values(s));
    expect(await plain(next, [b])).toEqual({ user: 'admin', password: 'hunter2', token: 't0k3n' });
    expect(await rewrapSealed(next, [b], { wrappers: [b] }, 'r')).toBe(next);
  });

  it('takes data keys from the cache instead of unwrapping them again', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const s = await twoGroups(a);
    const cache = new DataKeyCache(10);
    await unsealSealedSecret(s, [a], 'r', cache);
    const before = a.unwraps;

    await rewrapSealed(s, [a], { wrappers: [b], cache }, 'r');

    expect(a.unwraps).toBe(before);
    expect(cache.hits).toBe(2);
  });
});
