import { constants, createCipheriv, createDecipheriv, createHash, createHmac, createPublicKey, privateDecrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptValue, groupIdOf, keyCheckOf, keyCommitmentOf } from '../../src/crypto/aead.js';
import { bindingText, valueAad, wrapLabel } from '../../src/crypto/binding.js';
import type { Binding } from '../../src/crypto/types.js';
import { encodeSealedValue, parseSealedValue } from '../../src/crypto/value.js';
import { SealboxError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { unsealDocuments } from '../../src/format/documents.js';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import { parseSecret } from '../../src/format/secret.js';
import { parseDocuments, stringifyDocuments } from '../../src/format/yaml.js';
import type { CertIdentity } from '../../src/keys/cert.js';
import type { VectorKeyName } from '../helpers/keys.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../helpers/keys.js';

interface Positive { name: string; keys: VectorKeyName[][]; sealed: unknown; expected: Record<string, unknown> }
interface Negative { name: string; keys: VectorKeyName[]; code: ErrorCode; message: string; sealed: unknown }
interface PureValue { binding: Binding; bindingText: string; key: string; plaintext: string; nonce: string; keyCheck: string; aad: string; wrapLabel: string; sealedValue: string }
interface Pure {
  dataKey: string;
  groupId: string;
  commitment: string;
  values: PureValue[];
  sealedWithRandom: { random: string[]; secret: unknown; scope: 'strict'; keys: VectorKeyName[]; sealed: { spec: { encryptedData: Record<string, string>; dataKeys: { group: string; commitment: string; binding: string }[] } } };
}

const load = (file: string): unknown => JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));
const envelopes = load('./envelopes.json') as { positive: Positive[]; negative: Negative[] };
const pure = load('./pure.json') as Pure;
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

async function unseal(sealed: unknown, identities: readonly CertIdentity[], asYaml = false): Promise<unknown[]> {
  const text = asYaml ? stringifyDocuments([sealed], 'yaml') : JSON.stringify(sealed);
  return unsealDocuments(parseDocuments(text, 'vector.yaml'), 'vector.yaml', identities);
}

/** Every text value of the positive vectors: no error message may quote one. */
const plaintexts = envelopes.positive.flatMap((v) =>
  Object.values((v.expected.data ?? {}) as Record<string, string>)
    .map((b64) => Buffer.from(b64, 'base64').toString('utf8'))
    .filter((s) => s.startsWith('vector-')),
);

describe('the committed test keys', () => {
  it.each(['a', 'b'] as const)('key %s matches its certificate', (name) => {
    const { keyPem, certPem } = vectorKey(name);
    const spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    expect(vectorRecipient(name).recipient.id).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(vectorIdentity(name).fingerprint).toBe(vectorRecipient(name).recipient.id);
    expect(certPem).toContain('BEGIN CERTIFICATE');
  });
});

describe('positive envelopes', () => {
  const cases = envelopes.positive.flatMap((v) => v.keys.map((keys) => ({ ...v, keys, label: `${v.name} (keys ${keys.join('+')})` })));

  it('cover every required shape', () => {
    const names = envelopes.positive.map((v) => v.name);
    for (const want of ['strict scope', 'namespace scope', 'cluster scope', 'two groups after --merge-into', 'two recipients, either key unseals', 'non-UTF-8 and empty values']) {
      expect(names).toContain(want);
    }
  });

  it.each(cases)('$label unseals to its expected Secret', async ({ sealed, keys, expected }) => {
    const identities = keys.map(vectorIdentity);
    expect(await unseal(sealed, identities)).toEqual([expected]);
    expect(await unseal(sealed, identities, true)).toEqual([expected]);
  });

  it.each(envelopes.positive)('$name costs one private-key operation per data-key group', async ({ sealed, keys }) => {
    const [first = []] = keys;
    const identities = first.map(vectorIdentity);
    await unseal(sealed, identities);
    const groups = (sealed as { spec: { dataKeys: unknown[] } }).spec.dataKeys.length;
    expect(identities.reduce((n, i) => n + i.privateOps, 0)).toBe(groups);
  });

  it('hold a non-UTF-8 value and an empty value', () => {
    const v = envelopes.positive.find((p) => p.name === 'non-UTF-8 and empty values');
    const data = (v?.expected.data ?? {}) as Record<string, string>;
    const bytes = Object.values(data).map((b64) => Buffer.from(b64, 'base64'));
    expect(bytes.some((b) => b.length === 0)).toBe(true);
    expect(bytes.some((b) => !Buffer.from(b.toString('utf8'), 'utf8').equals(b))).toBe(true);
  });
});

describe('negative envelopes', () => {
  it('cover one vector per way to tamper', () => {
    const codes = new Map(envelopes.negative.map((v) => [v.name, v.code]));
    const want: [string, ErrorCode][] = [
      ['bit flipped in ciphertext', 'TAMPERED'],
      ['bit flipped in tag', 'TAMPERED'],
      ['bit flipped in nonce', 'TAMPERED'],
      ['bit flipped in key check', 'TAMPERED'],
      ['values swapped between two key names', 'SCOPE'],
      ['value copied into another resource', 'SCOPE'],
      ['strict resource renamed', 'SCOPE'],
      ['strict resource moved to another namespace', 'SCOPE'],
      ['scope widened from strict to cluster', 'SCOPE'],
      ['group binding edited in place', 'SCOPE'],
      ['moved to another namespace with the group binding edited to match', 'TAMPERED'],
      ['recipient id edited', 'NO_KEY'],
      ['recipient wrapped bytes flipped', 'TAMPERED'],
      ['recipient removed', 'NO_KEY'],
      ['stanza replaced by one wrapping another data key', 'TAMPERED'],
      ['key commitment of another data key', 'TAMPERED'],
      ['key commitment removed', 'INPUT'],
      ['recipients of one group wrap different data keys', 'TAMPERED'],
      ['data key of 16 bytes, with its own group id, commitment and key check', 'TAMPERED'],
      ['data-key group removed', 'SCOPE'],
      ['value truncated below the minimum length', 'INPUT'],
      ['value truncated by four bytes', 'TAMPERED'],
      ['unknown apiVersion', 'INPUT'],
    ];
    for (const [name, code] of want) expect(codes.get(name), name).toBe(code);
  });

  it.each(envelopes.negative)('refuses "$name" with $code', async ({ sealed, keys, code, message }) => {
    const err: unknown = await unseal(sealed, keys.map(vectorIdentity)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe(code);
    expect((err as SealboxError).message).toContain(message);
    for (const p of plaintexts) expect((err as SealboxError).message).not.toContain(p);
  });
});

describe('deterministic vectors of the pure parts', () => {
  const dataKey = hex(pure.dataKey);

  it('pin the group id to HMAC-SHA256(dataKey, "sealbox.dev/v1 group-id")', () => {
    const spec = createHmac('sha256', dataKey).update('sealbox.dev/v1 group-id').digest('hex').slice(0, 16);
    expect(pure.groupId).toBe(spec);
    expect(groupIdOf(dataKey)).toBe(pure.groupId);
  });

  it('pin the key commitment to HMAC-SHA256(dataKey, "sealbox.dev/v1 key-commitment"), all 256 bits', () => {
    const spec = createHmac('sha256', dataKey).update('sealbox.dev/v1 key-commitment').digest('hex');
    expect(pure.commitment).toBe(spec);
    expect(pure.commitment).toHaveLength(64);
    expect(keyCommitmentOf(dataKey)).toBe(pure.commitment);
    expect(pure.sealedWithRandom.sealed.spec.dataKeys[0]?.commitment).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(pure.values)('pin $bindingText / $key byte for byte', (v) => {
    const b = v.bindingText;
    expect(bindingText(v.binding)).toBe(b);
    const specAad = Buffer.from(`sealbox.dev/v1\0value\0${b}\0${pure.groupId}\0${v.key}`, 'utf8');
    expect(hex(v.aad)).toEqual(specAad);
    expect(Buffer.from(valueAad(v.binding, pure.groupId, v.key))).toEqual(specAad);
    expect(Buffer.from(wrapLabel(v.binding))).toEqual(Buffer.from(`sealbox.dev/v1\0wrap\0${b}`, 'utf8'));
    expect(hex(v.wrapLabel)).toEqual(Buffer.from(`sealbox.dev/v1\0wrap\0${b}`, 'utf8'));
    const specCheck = createHmac('sha256', dataKey).update(`sealbox.dev/v1 key-check\0${v.key}`).digest().subarray(0, 4);
    expect(hex(v.keyCheck)).toEqual(specCheck);
    expect(Buffer.from(keyCheckOf(dataKey, v.key))).toEqual(specCheck);

    // Encrypt as the spec says, with node:crypto alone, and compare with the committed value and the library.
    const cipher = createCipheriv('aes-256-gcm', dataKey, hex(v.nonce));
    cipher.setAAD(specAad);
    const body = Buffer.concat([specCheck, hex(v.nonce), cipher.update(hex(v.plaintext)), cipher.final(), cipher.getAuthTag()]);
    expect(v.sealedValue).toBe(`sb1:${pure.groupId}:${body.toString('base64')}`);
    const sealed = encryptValue(dataKey, v.key, hex(v.plaintext), specAad, () => new Uint8Array(hex(v.nonce)));
    expect(encodeSealedValue({ groupId: pure.groupId, sealed })).toBe(v.sealedValue);
  });

  it.each(pure.values)('open $bindingText / $key with a decryptor written from the spec', (v) => {
    const { groupId, sealed } = parseSealedValue(v.sealedValue, 'vector');
    expect(groupId).toBe(pure.groupId);
    const s = Buffer.from(sealed);
    const decipher = createDecipheriv('aes-256-gcm', dataKey, s.subarray(4, 16));
    decipher.setAAD(hex(v.aad));
    decipher.setAuthTag(s.subarray(s.length - 16));
    expect(Buffer.concat([decipher.update(s.subarray(16, s.length - 16)), decipher.final()])).toEqual(hex(v.plaintext));
  });

  describe('a resource sealed with a recorded random stream', () => {
    const fixture = pure.sealedWithRandom;
    let draws: number[];
    let resealed: ReturnType<typeof sealedManifest>;

    beforeAll(async () => {
      const queue = fixture.random.map(hex);
      draws = [];
      const random = (size: number): Uint8Array => {
        const next = queue.shift();
        if (next === undefined) throw new Error('the recorded random stream ran out');
        draws.push(size);
        expect(next.length).toBe(size);
        return new Uint8Array(next);
      };
      const secret = parseSecret(fixture.secret, 'vector');
      resealed = sealedManifest(await sealSecret(secret, { scope: fixture.scope, wrappers: [vectorRecipient('a')], random }));
    });

    it('draws one data key and then one nonce per value', () => {
      expect(draws).toEqual([32, 12, 12]);
    });

    it('reproduces every sealed value and the group id exactly', () => {
      const spec = resealed.spec as Pure['sealedWithRandom']['sealed']['spec'];
      expect(spec.encryptedData).toEqual(fixture.sealed.spec.encryptedData);
      expect(spec.dataKeys.map((g) => [g.group, g.commitment, g.binding])).toEqual(fixture.sealed.spec.dataKeys.map((g) => [g.group, g.commitment, g.binding]));
    });

    it('unseals the committed resource to the secret it was sealed from', async () => {
      const [out] = await unseal(fixture.sealed, fixture.keys.map(vectorIdentity));
      expect(out).toEqual(fixture.secret);
    });
  });
});

interface SpecManifest {
  metadata: { name: string; namespace?: string };
  spec: {
    scope: string;
    encryptedData?: Record<string, string>;
    dataKeys?: { group: string; commitment?: string; binding: string; recipients: { type: string; id: string; wrapped: string }[] }[];
  };
}

/** A refusal of specUnseal: the FORMAT.md section 7 code. */
class SpecError extends Error {
  constructor(readonly code: ErrorCode) {
    super(code);
  }
}

/**
 * An unsealer for cert recipients written from docs/FORMAT.md sections 3-7
 * with node:crypto alone, sharing no code with sealbox. Returns the values
 * (key name -> base64); throws SpecError with the code the spec names.
 */
function specUnseal(m: SpecManifest, keyPems: readonly string[]): Record<string, string> {
  const { metadata, spec } = m;
  const b = spec.scope === 'strict' ? `strict/${metadata.namespace ?? ''}/${metadata.name}` : spec.scope === 'namespace' ? `namespace/${metadata.namespace ?? ''}` : 'cluster';
  const label = Buffer.from(`sealbox.dev/v1\0wrap\0${b}`, 'utf8');
  const values = Object.entries(spec.encryptedData ?? {}).map(([k, text]) => {
    const [prefix, group = '', body = ''] = text.split(':');
    if (prefix !== 'sb1') throw new SpecError('INPUT');
    return { k, group, body: Buffer.from(body, 'base64') };
  });
  const dataKeys = new Map<string, Buffer>();
  for (const g of spec.dataKeys ?? []) {
    if (!/^[0-9a-f]{64}$/.test(g.commitment ?? '')) throw new SpecError('INPUT');
    if (!values.some((v) => v.group === g.group)) continue;
    if (g.binding !== b) throw new SpecError('SCOPE');
    const mine = keyPems.map((pem) => ({ pem, fp: createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex') }));
    const usable = g.recipients.flatMap((r) => mine.filter((x) => r.type === 'cert' && r.id === x.fp).map((x) => ({ r, pem: x.pem })));
    if (usable.length === 0) throw new SpecError('NO_KEY');
    for (const { r, pem } of usable) {
      let k: Buffer;
      try {
        k = privateDecrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, Buffer.from(r.wrapped, 'base64'));
      } catch {
        continue;
      }
      // Section 5: exactly 32 bytes, then the full 256-bit commitment, then the id.
      const commitment = Buffer.from(createHmac('sha256', k).update('sealbox.dev/v1 key-commitment').digest('hex'));
      const id = createHmac('sha256', k).update('sealbox.dev/v1 group-id').digest('hex').slice(0, 16);
      if (k.length === 32 && timingSafeEqual(commitment, Buffer.from(g.commitment ?? '')) && id === g.group) {
        dataKeys.set(g.group, k);
        break;
      }
    }
    // A wrap that does not open, and a key that is not the committed one, are both tampering.
    if (!dataKeys.has(g.group)) throw new SpecError('TAMPERED');
  }
  const out: Record<string, string> = {};
  for (const { k, group, body } of values) {
    const dataKey = dataKeys.get(group);
    if (dataKey === undefined) throw new SpecError('SCOPE');
    if (body.length < 32) throw new SpecError('INPUT');
    const check = (name: string): Buffer => createHmac('sha256', dataKey).update(`sealbox.dev/v1 key-check\0${name}`).digest().subarray(0, 4);
    const open = (name: string): Buffer | undefined => {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, body.subarray(4, 16));
      decipher.setAAD(Buffer.from(`sealbox.dev/v1\0value\0${b}\0${group}\0${name}`, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      try {
        return Buffer.concat([decipher.update(body.subarray(16, body.length - 16)), decipher.final()]);
      } catch {
        return undefined;
      }
    };
    if (check(k).equals(body.subarray(0, 4))) {
      const plain = open(k);
      if (plain === undefined) throw new SpecError('TAMPERED');
      out[k] = plain.toString('base64');
      continue;
    }
    // Section 4: moved only when it verifies under another key name of the resource.
    const from = values.find((o) => o.k !== k && check(o.k).equals(body.subarray(0, 4)) && open(o.k) !== undefined);
    throw new SpecError(from === undefined ? 'TAMPERED' : 'SCOPE');
  }
  return out;
}

describe('an unsealer written from the spec alone', () => {
  const pems = (keys: readonly VectorKeyName[]): string[] => keys.map((k) => vectorKey(k).keyPem);

  it.each(envelopes.positive.flatMap((v) => v.keys.map((keys) => ({ ...v, keys, label: `${v.name} (keys ${keys.join('+')})` }))))(
    'unseals $label to its expected values',
    ({ sealed, keys, expected }) => {
      expect(specUnseal(sealed as SpecManifest, pems(keys))).toEqual(expected.data ?? {});
    },
  );

  it.each([
    'key commitment of another data key',
    'key commitment removed',
    'recipients of one group wrap different data keys',
    'data key of 16 bytes, with its own group id, commitment and key check',
    'stanza replaced by one wrapping another data key',
    'recipient wrapped bytes flipped',
    'bit flipped in ciphertext',
    'bit flipped in key check',
    'values swapped between two key names',
  ])('refuses "%s" with the code sealbox reports', (name) => {
    const v = envelopes.negative.find((n) => n.name === name);
    if (v === undefined) throw new Error(`no negative vector "${name}"`);
    let got: unknown;
    try {
      specUnseal(v.sealed as SpecManifest, pems(v.keys));
    } catch (err) {
      got = err;
    }
    expect(got).toBeInstanceOf(SpecError);
    expect((got as SpecError).code).toBe(v.code);
  });
});
