import { describe, expect, it } from 'vitest';
import type { WrappedKey } from '../../../src/crypto/types.js';
import { checkRewrapAnswer } from '../../../src/format/rewrap-check.js';
import type { SealedGroup, SealedSecret } from '../../../src/format/sealed.js';
import { expectSealboxError } from '../../helpers/errors.js';

const stanza = (type: WrappedKey['type'], id: string, byte: number): WrappedKey => ({ type, id, wrapped: new Uint8Array([byte, byte]) });
const OLD = stanza('cert', 'a'.repeat(64), 1);
const NEW = stanza('cert', 'b'.repeat(64), 2);
const OTHER = stanza('cert', 'c'.repeat(64), 3);
const KMS = stanza('aws-kms', 'arn:aws:kms:eu-west-1:111122223333:key/k', 4);

const group = (id: string, recipients: WrappedKey[]): SealedGroup => ({ id, commitment: id.repeat(4), binding: 'strict/prod/db', recipients });

function resource(groups: SealedGroup[]): SealedSecret {
  return {
    name: 'db', namespace: 'prod', labels: {}, annotations: {}, scope: 'strict',
    template: { type: 'Opaque', labels: {}, annotations: {} },
    encryptedData: new Map(groups.map((g, i) => [`k${i}`, { groupId: g.id, sealed: new Uint8Array(32).fill(i) }])),
    dataKeys: groups,
  };
}

const G1 = '0123456789abcdef';
const G2 = 'fedcba9876543210';
const before = resource([group(G1, [OLD, KMS]), group(G2, [OLD, OTHER])]);

const checking = (after: SealedSecret) => (): void => {
  checkRewrapAnswer(before, after, 'sealed secret "prod/db"');
};

describe('checkRewrapAnswer', () => {
  it('accepts an answer that retires a certificate and adds the newest one to every group', () => {
    expect(checking(resource([group(G1, [KMS, NEW]), group(G2, [OTHER, NEW])]))).not.toThrow();
  });

  it('accepts an answer that changes nothing', () => {
    expect(checking(before)).not.toThrow();
  });

  it.each<[string, SealedGroup[], string]>([
    ['removes a KMS recipient', [group(G1, [OLD, NEW]), group(G2, [OLD, OTHER])], 'removes a aws-kms recipient'],
    ['adds a KMS recipient', [group(G1, [OLD, KMS, { ...KMS, id: 'arn:aws:kms:eu-west-1:111122223333:key/x' }]), group(G2, [OLD, OTHER])], 'a aws-kms stanza'],
    ['adds different certificates to different groups', [group(G1, [OLD, KMS, NEW]), group(G2, [OLD, OTHER, { ...NEW, id: 'd'.repeat(64) }])], 'different keys to different groups'],
    ['adds two certificates to one group', [group(G1, [OLD, KMS, NEW, { ...NEW, id: 'd'.repeat(64) }]), group(G2, [OLD, OTHER])], 'more than one recipient'],
    ['rewrites the wrapped key of a recipient it keeps', [group(G1, [{ ...OLD, wrapped: new Uint8Array([9]) }, KMS]), group(G2, [OLD, OTHER])], 'wrapped key of an existing recipient'],
    ['empties a group', [group(G1, [OLD, KMS]), group(G2, [])], 'leaves no recipient'],
    ['reorders the groups', [group(G2, [OLD, OTHER]), group(G1, [OLD, KMS])], '.group'],
    ['changes a key commitment', [{ ...group(G1, [OLD, KMS]), commitment: 'e'.repeat(64) }, group(G2, [OLD, OTHER])], 'spec.dataKeys[0].commitment'],
  ])('refuses an answer that %s as TAMPERED', (_what, groups, message) => {
    const after: SealedSecret = { ...before, dataKeys: groups };
    expectSealboxError(checking(after), 'TAMPERED', message);
  });
});
