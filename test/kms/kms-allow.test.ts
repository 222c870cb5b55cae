/**
 * --kms-allow (issue 11, item 4b) against the `kms` project's peers: the
 * controller's KMS unwrapper calls only allowed keys. A stanza naming any
 * other Key Vault host or AWS region is refused before any connection (a TCP
 * listener standing in for an internal address records every connection),
 * and its errors, like those of an allowed key that fails, have a fixed form
 * that says nothing about how a connection failed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Binding, WrappedKey } from '../../src/crypto/types.js';
import { AwsKmsKey } from '../../src/keys/aws-kms.js';
import type { AzureCredential } from '../../src/keys/azure-kv.js';
import { azureKvKeyFromSpec } from '../../src/keys/azure-kv.js';
import { parseKmsAllow } from '../../src/keys/kms-allow.js';
import type { KmsSpecOptions } from '../../src/keys/kms-spec.js';
import { KmsStanzaUnwrapper } from '../../src/keys/kms-unwrapper.js';
import { kmsPeer } from '../peers/kms-context.js';
import { expectSealboxError } from '../helpers/errors.js';

const region = 'eu-west-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const binding: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };
const credential: AzureCredential = {
  getToken: () => Promise.resolve({ token: kmsPeer('azure').token ?? 'test', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const connections: Socket[] = [];
let trap: Server | undefined;
let trapHost = '';
beforeAll(async () => {
  trap = createServer((s) => { connections.push(s); s.destroy(); });
  await new Promise<void>((r) => trap?.listen(0, '127.0.0.1', r));
  trapHost = `127.0.0.1:${String((trap.address() as { port: number }).port)}`;
});
afterAll(() => { trap?.close(); });

function options(awsEndpoint = kmsPeer('moto').endpoint): KmsSpecOptions {
  const caPem = readFileSync(kmsPeer('azure').caFile ?? '', 'utf8');
  return {
    aws: { endpoint: awsEndpoint, region, credentials, timeoutMs: 3000 },
    azure: { credential, caPem, disableChallengeResourceVerification: true, timeoutMs: 3000, clientOptions: { retryOptions: { maxRetries: 0 } } },
  };
}

/** An Azure stanza wrapped by a fresh key in the Key Vault stand-in, and its data key. */
async function azureStanza(): Promise<{ stanza: WrappedKey; dataKey: Uint8Array }> {
  const peer = kmsPeer('azure');
  const keys = new KeyClient(peer.endpoint, credential, { serviceVersion: '7.6', disableChallengeResourceVerification: true, tlsOptions: { ca: readFileSync(peer.caFile ?? '', 'utf8') } });
  const created = await keys.createRsaKey(`allow-${randomBytes(4).toString('hex')}`, { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'] });
  const key = await azureKvKeyFromSpec(`azure:${created.id ?? ''}`, options().azure);
  const dataKey = randomBytes(32);
  return { stanza: await key.wrap(dataKey), dataKey };
}

async function awsStanza(): Promise<{ stanza: WrappedKey; dataKey: Uint8Array }> {
  const client = new KMSClient({ region, endpoint: kmsPeer('moto').endpoint, credentials });
  const out = await client.send(new CreateKeyCommand({ Description: 'sealbox allow test' }));
  const key = new AwsKmsKey({ client, keyId: out.KeyMetadata?.Arn ?? '' });
  const dataKey = randomBytes(32);
  return { stanza: await key.wrap(dataKey, binding), dataKey };
}

const NO_NETWORK_TEXT = /ECONN|ENOTFOUND|socket|refused|reset|hang up|127\.0\.0\.1:\d+\D|certificate/i;

/** What a key outside --kms-allow fails with, whatever the key. */
const NOT_ALLOWED = /^this key is not in the controller's --kms-allow list, so the controller did not call it; ask the cluster admin to allow its vault or account, or reseal for an allowed key$/;

describe('the controller\'s KMS unwrapper with --kms-allow', () => {
  it('unwraps with an allowed Key Vault host and AWS region', async () => {
    const standIn = new URL(kmsPeer('azure').endpoint).host;
    const u = new KmsStanzaUnwrapper({ options: options(), allow: parseKmsAllow(`default,azure:${standIn}`, { AWS_REGION: region, AWS_ROLE_ARN: `arn:aws:iam::${(await awsStanza()).stanza.id.split(':')[4] ?? ''}:role/sealbox` }), fixedErrors: true });
    for (const { stanza, dataKey } of [await azureStanza(), await awsStanza()]) {
      expect(Buffer.from((await u.unwrap(stanza, binding)) ?? [])).toEqual(Buffer.from(dataKey));
    }
  });

  it('refuses a Key Vault stanza naming any other host with no connection and a fixed-form NO_KEY error', async () => {
    const calls: string[] = [];
    const u = new KmsStanzaUnwrapper({ options: options(), allow: parseKmsAllow('default', {}), fixedErrors: true, onCall: (p) => calls.push(p) });
    const { stanza } = await azureStanza();
    const hostile = [stanza, { ...stanza, id: `https://${trapHost}/keys/probe/0123abcd` }, { ...stanza, id: `https://${trapHost.replace(':', '.vault.azure.net:')}/keys/k/1` }];
    for (const s of hostile) {
      await expectSealboxError(u.unwrap(s, binding), 'NO_KEY', NOT_ALLOWED);
    }
    expect(calls).toEqual([]);
    expect(connections).toHaveLength(0);
  });

  it('refuses an AWS stanza of another region or account with no connection', async () => {
    const u = new KmsStanzaUnwrapper({ options: options(`http://${trapHost}`), allow: parseKmsAllow('aws:111122223333:eu-west-1', {}), fixedErrors: true });
    const { stanza } = await awsStanza();
    for (const id of [stanza.id, stanza.id.replace('eu-west-1', 'us-east-1'), 'alias/anything', 'arn:aws:kms:eu-west-1:111122223333:alias/x']) {
      await expectSealboxError(u.unwrap({ ...stanza, id }, binding), 'NO_KEY', NOT_ALLOWED);
    }
    expect(connections).toHaveLength(0);
    // The listener is reachable: an allowed key does connect to it.
    const open = new KmsStanzaUnwrapper({ options: options(`http://${trapHost}`), allow: parseKmsAllow(`aws:*:${region}`, {}), fixedErrors: true });
    await expectSealboxError(open.unwrap(stanza, binding), 'PROVIDER', /^unwrap failed: (the key service could not be reached|no answer in time); check the controller's access to this key and the network \(its log has the service's own message at debug level\)$/);
    expect(connections.length).toBeGreaterThan(0);
    connections.length = 0;
  });

  it('words the failures of an allowed key in a fixed form, with no network text', async () => {
    const failures: unknown[] = [];
    const u = new KmsStanzaUnwrapper({ options: options(), allow: parseKmsAllow(`azure:${trapHost}`, {}), fixedErrors: true, onFailure: (_p, e) => failures.push(e) });
    const { stanza } = await azureStanza();
    const err = await expectSealboxError(u.unwrap({ ...stanza, id: `https://${trapHost}/keys/probe/0123abcd` }, binding), 'PROVIDER', /^unwrap failed: [^;]+; check the controller's access to this key and the network \(its log has the service's own message at debug level\)$/);
    expect(connections.length).toBeGreaterThan(0);
    connections.length = 0;
    expect(err.message).not.toMatch(NO_NETWORK_TEXT);
    // the provider's own words go to the operator's log only
    expect((failures[0] as Error).message).toMatch(NO_NETWORK_TEXT);
    const standIn = new URL(kmsPeer('azure').endpoint).host;
    const tampered = { ...stanza, wrapped: Uint8Array.from(stanza.wrapped, (b, i) => (i === 9 ? b ^ 1 : b)) };
    const unwrapper = new KmsStanzaUnwrapper({ options: options(), allow: parseKmsAllow(`azure:${standIn}`, {}), fixedErrors: true });
    await expectSealboxError(unwrapper.unwrap(tampered, binding), 'TAMPERED', /^the key service refused the wrapped data key: it was altered, sealed for another location, or wrapped by another key; reseal it$/);
  });
});
