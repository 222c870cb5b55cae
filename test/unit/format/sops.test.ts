import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Scalar, parseDocument } from 'yaml';
import { decryptSopsFile, parseSopsFile } from '../../../src/format/sops.js';
import { goScalarText } from '../../../src/format/sops-values.js';
import { parseDocuments } from '../../../src/format/yaml.js';
import { expectSealboxError } from '../../helpers/errors.js';
import { encryptValue, writeSopsYaml } from '../../helpers/sops-writer.js';

const KMS = { kms: [{ arn: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555', created_at: '2026-01-01T00:00:00Z', enc: Buffer.from('wrapped').toString('base64'), aws_profile: '' }] };
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const secret = (): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'prod', labels: { replicas: 3 } }, immutable: true,
  stringData: { password: PASSWORD, port: 5432, user: '' },
});

function open(text: string, dataKey: Uint8Array): Record<string, unknown>[] {
  return decryptSopsFile(parseSopsFile(parseDocuments(text, 'in.yaml'), 'in.yaml'), dataKey);
}

describe('decryptSopsFile', () => {
  it('opens every value and checks the MAC, non-string leaves included', () => {
    const dataKey = randomBytes(32);
    const text = writeSopsYaml([secret()], { dataKey, keys: KMS, encryptedRegex: '^(data|stringData)$' });
    expect(open(text, dataKey)).toEqual([secret()]);
  });

  it('refuses a file whose MAC was computed over other values (an unencrypted value changed)', () => {
    const dataKey = randomBytes(32);
    const text = writeSopsYaml([secret()], { dataKey, keys: KMS, encryptedRegex: '^(data|stringData)$' }).replace('replicas: 3', 'replicas: 4');
    expectSealboxError(() => open(text, dataKey), 'TAMPERED', "sops' MAC does not match the values", { secrets: [PASSWORD] });
  });

  it('refuses a MAC that does not authenticate (its lastmodified changed)', () => {
    const dataKey = randomBytes(32);
    const text = writeSopsYaml([secret()], { dataKey, keys: KMS, lastModified: '2026-03-03T00:00:00Z' }).replace('2026-03-03T00:00:00Z', '2026-03-04T00:00:00Z');
    expectSealboxError(() => open(text, dataKey), 'TAMPERED', 'sops.mac: value at "2026-03-04T00:00:00Z" does not authenticate');
  });

  it('refuses a value opened with another data key, and says nothing of the plaintext', () => {
    const text = writeSopsYaml([secret()], { dataKey: randomBytes(32), keys: KMS });
    expectSealboxError(() => open(text, randomBytes(32)), 'TAMPERED', 'does not authenticate', { secrets: [PASSWORD] });
  });

  it('refuses a value of an encrypted path left in plaintext', () => {
    const dataKey = randomBytes(32);
    const text = writeSopsYaml([secret()], { dataKey, keys: KMS, encryptedRegex: '^(data|stringData)$' })
      .replace(/password: ENC\[[^\]]*\]/, 'password: plain');
    expectSealboxError(() => open(text, dataKey), 'INPUT', 'is not encrypted in sops\' format');
  });
});

describe('parseSopsFile', () => {
  const file = (sops: Record<string, unknown>): string => `a: ${encryptValue('x', 'str', randomBytes(32), 'a:')}\nsops: ${JSON.stringify({ lastmodified: '2026-01-01T00:00:00Z', mac: 'ENC[x]', version: '3.13.3', ...sops })}\n`;
  const parse = (text: string) => () => parseSopsFile(parseDocuments(text, 'in.yaml'), 'in.yaml');

  it.each([
    [{ age: [{ recipient: 'age1xyz', enc: 'x' }] }, 'encrypted for age, not for an AWS KMS or Azure Key Vault key'],
    [{ pgp: [{ fp: 'ABC', enc: 'x' }] }, 'encrypted for pgp'],
    [{}, 'encrypted for no keys'],
    [{ key_groups: [KMS, KMS], shamir_threshold: 2 }, 'splits its data key over 2 key groups (Shamir)'],
    [{ ...KMS, encrypted_comment_regex: 'sops:enc' }, "uses sops' encrypted_comment_regex"],
    [{ ...KMS, encrypted_regex: 'a', unencrypted_suffix: '_u' }, 'more than one encryption rule'],
    [{ ...KMS, lastmodified: 'yesterday' }, 'is not an RFC 3339 time'],
  ])('refuses metadata %j', (sops, message) => {
    expectSealboxError(parse(file(sops)), 'INPUT', message);
  });

  it('refuses a file without sops metadata', () => {
    expectSealboxError(parse('apiVersion: v1\nkind: Secret\n'), 'INPUT', 'is not a sops-encrypted file');
  });

  it('keeps the kinds of key it cannot use beside the KMS keys', () => {
    const f = parseSopsFile(parseDocuments(file({ ...KMS, age: [{ recipient: 'age1xyz', enc: 'x' }] }), 'in.yaml'), 'in.yaml');
    expect(f.meta.others).toEqual(['age']);
    expect(f.meta.kms.map((k) => k.arn)).toEqual([KMS.kms[0]?.arn]);
  });
});

describe('goScalarText (the bytes an unencrypted leaf adds to the MAC, as Go yaml.v3 + sops ToBytes)', () => {
  const leaf = (src: string): Scalar => {
    const node = parseDocument(`v: ${src}`).get('v', true);
    if (!(node instanceof Scalar)) throw new Error('not a scalar');
    return node;
  };
  it.each([
    ['abc', 'abc'], ['"3"', '3'], ["'true'", 'true'], ['!!str 3', '3'],
    ['3', '3'], ['-0', '0'], ['0x1F', '31'], ['017', '15'], ['0o17', '15'], ['0b101', '5'], ['1_000', '1000'],
    ['1.5', '1.5'], ['1e3', '1000'], ['1.0', '1'], ['0.000001', '0.000001'],
    ['true', 'True'], ['False', 'False'], ['yes', 'yes'], ['null', undefined], ['~', undefined],
  ])('%s gives %s', (src, want) => {
    expect(goScalarText(leaf(src), 'v:', 'in.yaml')).toBe(want);
  });

  it.each(['2026-01-01', '.inf'])('refuses %s, whose Go text it does not reproduce', (src) => {
    expectSealboxError(() => goScalarText(leaf(src), 'v:', 'in.yaml'), 'INPUT', 'quote it, re-encrypt the file with sops');
  });
});
