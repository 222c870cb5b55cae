/**
 * A data key of the wrong length, wrapped by an attacker through the real KMS
 * peers (moto for AWS KMS, the Key Vault stand-in for Azure): unsealing must
 * refuse it as TAMPERED, not fail inside AES as an internal error. The check
 * lives in unwrapGroup, which every unwrap path passes; this shows it for the
 * two KMS paths (the cluster-key path is in test/unit/format/seal.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { KeyClient } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import { groupIdOf, keyCheckOf, keyCommitmentOf } from '../../src/crypto/aead.js';
import type { Binding, KeyUnwrapper, KeyWrapper } from '../../src/crypto/types.js';
import { isSealboxError } from '../../src/errors.js';
import { unsealSealedSecret } from '../../src/format/seal.js';
import type { SealedSecret } from '../../src/format/sealed.js';
import { AwsKmsKey } from '../../src/keys/aws-kms.js';
import type { AzureCredential } from '../../src/keys/azure-kv.js';
import { AzureKvKey } from '../../src/keys/azure-kv.js';
import { kmsPeer } from '../peers/kms-context.js';

const strict: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };

async function awsKey(): Promise<AwsKmsKey> {
  const client = new KMSClient({ region: 'eu-west-1', endpoint: kmsPeer('moto').endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 2 });
  const arn = (await client.send(new CreateKeyCommand({ Description: 'sealbox wrong-length test' }))).KeyMetadata?.Arn;
  if (arn === undefined) throw new Error('moto returned no key ARN');
  return new AwsKmsKey({ client, keyId: arn });
}

async function azureKey(): Promise<AzureKvKey> {
  const peer = kmsPeer('azure');
  if (peer.caFile === undefined) throw new Error('azure peer has no CA file');
  const credential: AzureCredential = { getToken: () => Promise.resolve({ token: peer.token ?? 'test', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const options = { serviceVersion: '7.6', disableChallengeResourceVerification: true, tlsOptions: { ca: readFileSync(peer.caFile, 'utf8') } };
  const key = await new KeyClient(peer.endpoint, credential, options).createRsaKey(`sealbox-${randomUUID()}`, { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'] });
  if (key.id === undefined) throw new Error('vault returned no key id');
  return new AzureKvKey({ keyId: key.id, credential, clientOptions: options });
}

/** A resource whose only group wraps a 16-byte key for `key`, with id, commitment and key check made to match it. */
async function forged(key: KeyWrapper): Promise<SealedSecret> {
  const short = new Uint8Array(16).fill(0x5a);
  const id = groupIdOf(short);
  const body = Buffer.concat([keyCheckOf(short, 'password'), Buffer.alloc(28, 0x11)]);
  return {
    name: 'db', namespace: 'prod', labels: {}, annotations: {}, scope: 'strict',
    template: { type: 'Opaque', labels: {}, annotations: {} },
    encryptedData: new Map([['password', { groupId: id, sealed: new Uint8Array(body) }]]),
    dataKeys: [{ id, commitment: keyCommitmentOf(short), binding: 'strict/prod/db', recipients: [await key.wrap(short, strict)] }],
  };
}

describe('a data key of the wrong length wrapped through a KMS', () => {
  it.each([
    ['AWS KMS', awsKey],
    ['Azure Key Vault', azureKey],
  ] as const)('is refused as TAMPERED through %s', async (_what, make) => {
    const key: KeyWrapper & KeyUnwrapper = await make();
    const err: unknown = await unsealSealedSecret(await forged(key), [key], 'sealed secret "prod/db"').catch((e: unknown) => e);
    expect(isSealboxError(err) ? [err.code, err.message] : err).toEqual(['TAMPERED', expect.stringContaining('data key is 16 bytes, not 32')]);
  });
});
