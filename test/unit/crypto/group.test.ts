import { describe, expect, it } from 'vitest';
import { groupIdOf, keyCommitmentOf } from '../../../src/crypto/aead.js';
import { describeRecipient, openValue, sealGroup, unwrapGroup, wrapDataKey } from '../../../src/crypto/group.js';
import type { DataKeyGroup } from '../../../src/crypto/group.js';
import type { Binding, KeyUnwrapper, KeyWrapper, WrappedKey } from '../../../src/crypto/types.js';
import { SealboxError } from '../../../src/errors.js';
import type { ErrorCode } from '../../../src/errors.js';
import { LocalKey } from '../../helpers/local-key.js';
import { expectSealboxError } from '../../helpers/errors.js';

const binding: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };
const dataKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const stanza = (id: string, type: WrappedKey['type'] = 'aws-kms'): WrappedKey => ({ type, id, wrapped: new Uint8Array([1, 2, 3]) });
const group: DataKeyGroup = { id: groupIdOf(dataKey), commitment: keyCommitmentOf(dataKey), recipients: [stanza('k1'), stanza('k2')] };

/** An unwrapper that answers for one recipient id with a fixed outcome. */
function unwrapper(id: string, outcome: Uint8Array | Error, calls: string[] = []): KeyUnwrapper {
  return {
    description: `test:${id}`,
    unwrap(s: WrappedKey): Promise<Uint8Array | null> {
      if (s.id !== id) return Promise.resolve(null);
      calls.push(id);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(Uint8Array.from(outcome));
    },
  };
}

describe('describeRecipient', () => {
  it.each([
    [{ type: 'cert', id: 'a'.repeat(64) } as const, `cert:${'a'.repeat(12)}`],
    [{ type: 'aws-kms', id: 'arn:aws:kms:eu-west-1:1:key/k' } as const, 'aws-kms:arn:aws:kms:eu-west-1:1:key/k'],
    [{ type: 'azure-kv', id: 'https://v.vault.azure.net/keys/k/1' } as const, 'azure-kv:https://v.vault.azure.net/keys/k/1'],
  ])('writes %j as %s', (r, want) => {
    expect(describeRecipient(r)).toBe(want);
  });
});

describe('wrapDataKey', () => {
  it('refuses to seal for nobody', async () => {
    await expectSealboxError(wrapDataKey(dataKey, binding, []), 'INPUT', /^no recipients\b/);
  });

  it('wraps once per recipient, dropping a recipient given twice', async () => {
    const k = new LocalKey('one');
    const stanzas = await wrapDataKey(dataKey, binding, [k, k, new LocalKey('two')]);
    expect(stanzas.map((s) => s.id)).toEqual([k.recipient.id, new LocalKey('two').recipient.id]);
  });

  it('passes a wrapper failure through', async () => {
    const broken: KeyWrapper = { recipient: { type: 'aws-kms', id: 'x' }, wrap: () => Promise.reject(new SealboxError('PROVIDER', 'kms down')) };
    await expectSealboxError(wrapDataKey(dataKey, binding, [broken]), 'PROVIDER', /^kms down$/);
  });
});

describe('sealGroup', () => {
  it('seals every value under one data key wrapped once per recipient', async () => {
    const a = new LocalKey('a');
    const b = new LocalKey('b');
    const values = new Map([['x', Buffer.from('1')], ['y', Buffer.from('2')], ['z', Buffer.from('3')]]);
    const sealed = await sealGroup(values, binding, [a, b]);
    expect(sealed.group.recipients).toHaveLength(2);
    expect([...sealed.values.values()].every((v) => v.groupId === sealed.group.id)).toBe(true);
    const key = await unwrapGroup(sealed.group, binding, [b], 'r');
    expect(b.unwraps).toBe(1);
    for (const [k, v] of sealed.values) expect(openValue(key, binding, k, v)).toEqual(new Uint8Array(values.get(k) ?? []));
  });

  it('takes the data key and the nonces from the random source', async () => {
    const sizes: number[] = [];
    const random = (n: number): Uint8Array => {
      sizes.push(n);
      return new Uint8Array(n).fill(sizes.length);
    };
    const sealed = await sealGroup(new Map([['x', new Uint8Array(1)]]), binding, [new LocalKey('a')], random);
    expect(sizes).toEqual([32, 12]);
    expect(sealed.group.id).toBe(groupIdOf(new Uint8Array(32).fill(1)));
  });

  it('gives a new group id on every seal', async () => {
    const v = new Map([['x', new Uint8Array(1)]]);
    const k = new LocalKey('a');
    expect((await sealGroup(v, binding, [k])).group.id).not.toBe((await sealGroup(v, binding, [k])).group.id);
  });

  it('refuses a value opened at another binding or under another key name', async () => {
    const k = new LocalKey('a');
    const sealed = await sealGroup(new Map([['x', Buffer.from('v')]]), binding, [k]);
    const key = await unwrapGroup(sealed.group, binding, [k], 'r');
    const v = sealed.values.get('x');
    if (v === undefined) throw new Error('no value');
    expect(openValue(key, { ...binding, namespace: 'staging' }, 'x', v)).toBe('tampered');
    expect(openValue(key, binding, 'y', v, ['x', 'y'])).toEqual({ movedFrom: 'x' });
    expect(openValue(key, binding, 'x', { ...v, groupId: 'ffffffffffffffff' })).toBe('tampered');
  });

  it('calls a value moved only when it authenticates under the other key name', async () => {
    const k = new LocalKey('a');
    const sealed = await sealGroup(new Map([['x', Buffer.from('v')], ['y', Buffer.from('w')]]), binding, [k]);
    const key = await unwrapGroup(sealed.group, binding, [k], 'r');
    const v = sealed.values.get('x');
    if (v === undefined) throw new Error('no value');
    // Renamed to a key the resource no longer has: the name it was sealed under is unknown.
    expect(openValue(key, binding, 'z', v, ['y', 'z'])).toBe('tampered');
    // A corrupted start (the key check) looks like no key name at all.
    for (const at of [0, 1, 3]) {
      const bytes = new Uint8Array(v.sealed);
      bytes[at] = (bytes[at] ?? 0) ^ 0x20;
      expect(openValue(key, binding, 'x', { ...v, sealed: bytes }, ['x', 'y'])).toBe('tampered');
    }
    // The key check of "x" with a body that is altered too: not provably from "x".
    const body = new Uint8Array(v.sealed);
    body[20] = (body[20] ?? 0) ^ 0x01;
    expect(openValue(key, binding, 'y', { ...v, sealed: body }, ['x', 'y'])).toBe('tampered');
  });
});

describe('unwrapGroup', () => {
  it('returns the data key from the unwrapper that holds a recipient, asking no one else', async () => {
    const calls: string[] = [];
    const key = await unwrapGroup(group, binding, [unwrapper('other', dataKey, calls), unwrapper('k2', dataKey, calls)], 'r');
    expect(key).toEqual(dataKey);
    expect(calls).toEqual(['k2']);
  });

  it('says NO_KEY, listing the keys held and the recipients wanted, when no unwrapper is a recipient', async () => {
    const { message } = await expectSealboxError(unwrapGroup(group, binding, [unwrapper('k9', dataKey)], 'sealed secret "prod/db"'), 'NO_KEY', /^sealed secret "prod\/db": /);
    expect(message).toContain('test:k9');
    expect(message).toContain('aws-kms:k1, aws-kms:k2');
  });

  it('says NO_KEY with no unwrappers at all', async () => {
    await expectSealboxError(unwrapGroup(group, binding, [], 'r'), 'NO_KEY', /^r: no key was given to unwrap data-key group /);
  });

  it('tries the next stanza after a failure and keeps the key it finds', async () => {
    const failing = unwrapper('k1', new SealboxError('PROVIDER', 'kms unreachable'));
    expect(await unwrapGroup(group, binding, [failing, unwrapper('k2', dataKey)], 'r')).toEqual(dataKey);
  });

  it.each<[string, Error[], ErrorCode]>([
    ['a tampered wrap', [new SealboxError('TAMPERED', 'bad wrap')], 'TAMPERED'],
    ['a key service outage', [new SealboxError('PROVIDER', 'kms unreachable')], 'PROVIDER'],
    ['an error that is not a SealboxError', [new TypeError('socket hang up')], 'PROVIDER'],
    ['a tampered wrap and an outage', [new SealboxError('PROVIDER', 'kms unreachable'), new SealboxError('TAMPERED', 'bad wrap')], 'TAMPERED'],
    ['a scope error and an outage', [new SealboxError('PROVIDER', 'kms unreachable'), new SealboxError('SCOPE', 'wrong place')], 'SCOPE'],
    ['a tampered wrap and a scope error', [new SealboxError('SCOPE', 'wrong place'), new SealboxError('TAMPERED', 'bad wrap')], 'TAMPERED'],
  ])('reports %s as %s, keeping every reason', async (_what, errors, want) => {
    const unwrappers = errors.map((e, i) => unwrapper(`k${i + 1}`, e));
    const { message } = await expectSealboxError(unwrapGroup(group, binding, unwrappers, 'r'), want, /^r: /);
    for (const [i, e] of errors.entries()) expect(message).toContain(`aws-kms:k${i + 1}: ${e.message}`);
  });

  it('tries each recipient once, however often a group lists it', async () => {
    const calls: string[] = [];
    const failing = unwrapper('k1', new SealboxError('TAMPERED', 'does not decrypt'), calls);
    const copies: DataKeyGroup = { ...group, recipients: Array.from({ length: 100 }, () => stanza('k1')) };
    await expectSealboxError(unwrapGroup(copies, binding, [failing], 'r'), 'TAMPERED', /^r: cannot unwrap data-key group [0-9a-f]{16}: aws-kms:k1: does not decrypt$/);
    expect(calls).toEqual(['k1']);
    const found: string[] = [];
    const mixed: DataKeyGroup = { ...group, recipients: [stanza('k1'), stanza('k2'), stanza('k1'), stanza('k2')] };
    expect(await unwrapGroup(mixed, binding, [unwrapper('k1', new SealboxError('TAMPERED', 'no'), found), unwrapper('k2', dataKey, found)], 'r')).toEqual(dataKey);
    expect(found).toEqual(['k1', 'k2']);
  });

  it('refuses a data key that is not the one the group id commits to', async () => {
    const other = new Uint8Array(32).fill(0xee);
    await expectSealboxError(unwrapGroup(group, binding, [unwrapper('k1', other)], 'r'), 'TAMPERED', `group ${group.id} commits to`);
  });

  it('refuses a data key whose group id matches but whose 256-bit key commitment is another key\'s', async () => {
    // The salamander shape: the id names this key, the commitment another one.
    const swapped: DataKeyGroup = { ...group, commitment: keyCommitmentOf(new Uint8Array(32).fill(0xee)) };
    await expectSealboxError(unwrapGroup(swapped, binding, [unwrapper('k1', dataKey)], 'r'), 'TAMPERED', `group ${group.id} commits to`);
  });

  it('checks all 256 bits of the commitment, not only the 96 the old group id and key check covered', async () => {
    const right = keyCommitmentOf(dataKey);
    for (const at of [24, 40, 63]) {
      const flipped = right.slice(0, at) + (right[at] === '0' ? '1' : '0') + right.slice(at + 1);
      await expectSealboxError(unwrapGroup({ ...group, commitment: flipped }, binding, [unwrapper('k1', dataKey)], 'r'), 'TAMPERED', `group ${group.id} commits to`);
    }
  });

  it.each([0, 16, 31, 33, 64])('refuses an attacker-wrapped data key of %i bytes as TAMPERED, though id and commitment are its own', async (n) => {
    const short = new Uint8Array(n).fill(7);
    // HMAC zero-pads short keys: without the length check, this 16-byte key
    // and the same key padded with zeros would share an id and a commitment.
    const forged: DataKeyGroup = { ...group, id: groupIdOf(short), commitment: keyCommitmentOf(short) };
    await expectSealboxError(unwrapGroup(forged, binding, [unwrapper('k1', short)], 'r'), 'TAMPERED', `data key is ${n} bytes, not 32`);
  });

  it('passes the binding to the unwrapper, so a moved group does not open', async () => {
    const k = new LocalKey('a');
    const sealed = await sealGroup(new Map([['x', new Uint8Array(1)]]), binding, [k]);
    await expectSealboxError(unwrapGroup(sealed.group, { ...binding, name: 'db2' }, [k], 'r'), 'TAMPERED', /^r: cannot unwrap data-key group [0-9a-f]{16}: .*the wrapped data key does not open$/);
  });

  it('never puts the data key in a message', async () => {
    const other = new Uint8Array(32).fill(0xab);
    const secrets = [dataKey, other].flatMap((k) => [Buffer.from(k).toString('hex'), Buffer.from(k).toString('base64')]);
    await expectSealboxError(unwrapGroup(group, binding, [unwrapper('k1', other)], 'r'), 'TAMPERED', `group ${group.id} commits to`, { secrets });
  });
});
