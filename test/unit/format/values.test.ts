import { describe, expect, it } from 'vitest';
import { encodeSealedValue } from '../../../src/crypto/value.js';
import { SealboxError } from '../../../src/errors.js';
import { openValue } from '../../../src/crypto/group.js';
import { bindingOf, mergeIntoSealed, sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import { recipientSetOf, setSealedValues } from '../../../src/format/values.js';
import { LocalKey } from '../../helpers/local-key.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const values = (entries: Record<string, string>): Map<string, Uint8Array> => new Map(Object.entries(entries).map(([k, v]) => [k, bytes(v)]));
const encoded = (s: SealedSecret): Record<string, string> => Object.fromEntries([...s.encryptedData].map(([k, v]) => [k, encodeSealedValue(v)]));

async function sealed(key: LocalKey): Promise<SealedSecret> {
  return sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: values({ user: 'admin', password: 'hunter2', host: 'db' }) }, { scope: 'strict', wrappers: [key] });
}

describe('setSealedValues', () => {
  it('re-seals changed and added values under a fresh data key for the same recipients, keeps unchanged ciphertext and drops removed keys', async () => {
    const key = new LocalKey('k');
    const s = await sealed(key);

    const { sealed: next, changes } = await setSealedValues(s, values({ password: 'new', host: 'db', token: 't' }), [key], 'r', { wrappers: [key] });

    expect(changes).toEqual({ changed: ['password'], added: ['token'], removed: ['user'] });
    expect(next.dataKeys[0]).toEqual(s.dataKeys[0]);
    const fresh = next.dataKeys[1];
    expect(next.dataKeys).toHaveLength(2);
    expect(fresh?.id).not.toBe(s.dataKeys[0]?.id);
    expect(fresh?.recipients.map((r) => r.id)).toEqual([key.recipient.id]);
    expect(fresh?.binding).toBe('strict/prod/db');
    expect(next.encryptedData.get('password')?.groupId).toBe(fresh?.id);
    expect(next.encryptedData.get('token')?.groupId).toBe(fresh?.id);
    expect(encoded(next).host).toBe(encoded(s).host);
    const out = await unsealSealedSecret(next, [key], 'r');
    expect(Object.fromEntries([...out.data].map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual({ password: 'new', host: 'db', token: 't' });
  });

  it('returns the same resource when no value changed', async () => {
    const key = new LocalKey('k');
    const s = await sealed(key);

    const r = await setSealedValues(s, values({ user: 'admin', password: 'hunter2', host: 'db' }), [key], 'r', { wrappers: [key] });

    expect(r.sealed).toBe(s);
  });

  it('never seals an edited value under the data key of a group someone merged in, who knows that key', async () => {
    const key = new LocalKey('k');
    // The attacker merges with a random source of his own, so he knows the data key of his group.
    const attackerKey = new Uint8Array(32).fill(0x42);
    let draws = 0;
    const attackerRandom = (n: number): Uint8Array => (draws++ === 0 ? Uint8Array.from(attackerKey) : new Uint8Array(n).fill(draws));
    const merged = await mergeIntoSealed(await sealed(key), values({ note: 'from the attacker' }), { wrappers: [key], random: attackerRandom });
    const attackerGroup = merged.dataKeys[1]?.id;
    expect(openValue(attackerKey, bindingOf(merged), 'note', merged.encryptedData.get('note') ?? fail())).toEqual(bytes('from the attacker'));

    // The key holder rotates the password with edit.
    const { sealed: next } = await setSealedValues(merged, values({ user: 'admin', password: 'rotated-secret', host: 'db', note: 'from the attacker' }), [key], 'r', { wrappers: [key] });

    const password = next.encryptedData.get('password') ?? fail();
    expect(password.groupId).not.toBe(attackerGroup);
    const opened = openValue(attackerKey, bindingOf(next), 'password', password);
    expect(opened).toBe('tampered');
    expect(Buffer.from((await unsealSealedSecret(next, [key], 'r')).data.get('password') ?? []).toString()).toBe('rotated-secret');
  });

  it('drops groups left without values', async () => {
    const key = new LocalKey('k');
    const merged = await mergeIntoSealed(await sealed(key), values({ token: 'x' }), { wrappers: [key] });
    const [oldGroup, mergedGroup] = merged.dataKeys;

    const { sealed: next } = await setSealedValues(merged, values({ token: 'y', user: 'root', password: 'hunter2', host: 'db' }), [key], 'r', { wrappers: [key] });

    expect(next.dataKeys.map((g) => g.id)).not.toContain(mergedGroup?.id);
    expect(next.dataKeys[0]?.id).toBe(oldGroup?.id);
    expect(next.dataKeys).toHaveLength(2);
  });

  it('refuses a resource whose groups name different recipients, before unsealing, so an added recipient cannot ride along', async () => {
    const key = new LocalKey('k');
    const other = new LocalKey('other');
    const merged = await mergeIntoSealed(await sealed(key), values({ token: 'x' }), { wrappers: [key, other] });

    const err: unknown = await setSealedValues(merged, values({ password: 'new' }), [key], 'r', { wrappers: [key, other] }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
    expect((err as SealboxError).message).toContain('run "sealbox rotate" first');
    expect(key.unwraps).toBe(0);
    expect(() => recipientSetOf(merged, 'r')).toThrow(/different recipients/);
  });

  it('refuses, naming the recipient, when a recipient of the resource has no wrapper', async () => {
    const key = new LocalKey('k');
    const s = await sealed(key);

    const err: unknown = await setSealedValues(s, values({ password: 'new' }), [key], 'r', { wrappers: [] }).catch((e: unknown) => e);

    expect((err as SealboxError).code).toBe('INPUT');
    expect((err as SealboxError).message).toContain(`aws-kms:${key.recipient.id} is not known here`);
  });

  it('refuses to add values to a resource that has no data-key group', async () => {
    const key = new LocalKey('k');
    const empty = await sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map() }, { scope: 'strict', wrappers: [key] });

    const err: unknown = await setSealedValues(empty, values({ a: 'b' }), [key], 'r', { wrappers: [key] }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
  });
});

function fail(): never {
  throw new Error('missing value');
}
