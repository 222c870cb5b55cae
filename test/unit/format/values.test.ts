import { describe, expect, it } from 'vitest';
import { encodeSealedValue } from '../../../src/crypto/value.js';
import { SealboxError } from '../../../src/errors.js';
import { mergeIntoSealed, sealSecret, unsealSealedSecret } from '../../../src/format/seal.js';
import type { SealedSecret } from '../../../src/format/sealed.js';
import { setSealedValues } from '../../../src/format/values.js';
import { LocalKey } from '../../helpers/local-key.js';

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const values = (entries: Record<string, string>): Map<string, Uint8Array> => new Map(Object.entries(entries).map(([k, v]) => [k, bytes(v)]));
const encoded = (s: SealedSecret): Record<string, string> => Object.fromEntries([...s.encryptedData].map(([k, v]) => [k, encodeSealedValue(v)]));

async function sealed(key: LocalKey): Promise<SealedSecret> {
  return sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: values({ user: 'admin', password: 'hunter2', host: 'db' }) }, { scope: 'strict', wrappers: [key] });
}

describe('setSealedValues', () => {
  it('re-seals changed and added values under the existing group, keeps unchanged ciphertext and drops removed keys', async () => {
    const key = new LocalKey('k');
    const s = await sealed(key);

    const { sealed: next, changes } = await setSealedValues(s, values({ password: 'new', host: 'db', token: 't' }), [key], 'r');

    expect(changes).toEqual({ changed: ['password'], added: ['token'], removed: ['user'] });
    expect(next.dataKeys).toEqual(s.dataKeys);
    expect(encoded(next).host).toBe(encoded(s).host);
    expect(encoded(next).password).not.toBe(encoded(s).password);
    const out = await unsealSealedSecret(next, [key], 'r');
    expect(Object.fromEntries([...out.data].map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual({ password: 'new', host: 'db', token: 't' });
  });

  it('returns the same resource when no value changed', async () => {
    const key = new LocalKey('k');
    const s = await sealed(key);

    const r = await setSealedValues(s, values({ user: 'admin', password: 'hunter2', host: 'db' }), [key], 'r');

    expect(r.sealed).toBe(s);
  });

  it('seals into the newest group and drops groups left without values', async () => {
    const key = new LocalKey('k');
    const merged = await mergeIntoSealed(await sealed(key), values({ token: 'x' }), { wrappers: [key] });
    const [oldGroup, newGroup] = merged.dataKeys;

    const { sealed: next } = await setSealedValues(merged, values({ token: 'y', user: 'root' }), [key], 'r');

    expect(next.dataKeys.map((g) => g.id)).toEqual([newGroup?.id]);
    expect([...next.encryptedData.values()].every((v) => v.groupId === newGroup?.id)).toBe(true);
    expect(oldGroup).toBeDefined();
  });

  it('refuses to add values to a resource that has no data-key group', async () => {
    const key = new LocalKey('k');
    const empty = await sealSecret({ name: 'db', namespace: 'prod', type: 'Opaque', labels: {}, annotations: {}, data: new Map() }, { scope: 'strict', wrappers: [key] });

    const err: unknown = await setSealedValues(empty, values({ a: 'b' }), [key], 'r').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
  });
});
