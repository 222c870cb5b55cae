/**
 * Helpers for tests that run the built CLI against the KMS test servers:
 * the environment a user would set (AWS endpoint and credentials; the Key
 * Vault stand-in's CA and managed-identity endpoint, so DefaultAzureCredential
 * really runs), and keys made on the servers. Run the CLI with
 * `sealbox(args, { env: kmsEnv() })` from test/helpers/cli.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { KeyClient } from '@azure/keyvault-keys';
import type { RunningPeer } from './kms-context.js';
import { kmsPeer } from './kms-context.js';

/** Region of the keys tests make on moto. */
export const AWS_REGION = 'eu-west-1';

/**
 * The environment of a CLI run against the peers, for `sealbox(args, { env:
 * kmsEnv() })` (test/helpers/cli.ts): what a user sets to reach them. Defaults
 * to the `kms` project's peers; pass them explicitly elsewhere.
 */
export function kmsEnv(peers: { moto?: { endpoint: string }; azure?: RunningPeer } = { moto: kmsPeer('moto'), azure: kmsPeer('azure') }): NodeJS.ProcessEnv {
  // Nothing of the developer's own cloud setup may leak into a test run: undefined removes it.
  const removed = Object.fromEntries(Object.keys(process.env).filter((k) => /^(AWS_|AZURE_|IDENTITY_|MSI_)/.test(k)).map((k) => [k, undefined]));
  const { moto, azure } = peers;
  return {
    ...removed,
    ...(moto === undefined ? {} : { AWS_ENDPOINT_URL_KMS: moto.endpoint, AWS_REGION, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(azure?.caFile === undefined ? {} : { NODE_EXTRA_CA_CERTS: azure.caFile }),
    ...(azure?.identityEndpoint === undefined ? {} : { IDENTITY_ENDPOINT: azure.identityEndpoint, IDENTITY_HEADER: azure.identityHeader }),
    SEALBOX_AZURE_DISABLE_CHALLENGE_VERIFICATION: '1',
  };
}

let aws: KMSClient | undefined;

/** A KMS client for the moto peer. */
export function awsClient(): KMSClient {
  aws ??= new KMSClient({ region: AWS_REGION, endpoint: kmsPeer('moto').endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return aws;
}

/** Creates a KMS key on moto; returns its ARN. */
export async function newAwsKey(): Promise<string> {
  const out = await awsClient().send(new CreateKeyCommand({ Description: 'sealbox cli test' }));
  const arn = out.KeyMetadata?.Arn;
  if (arn === undefined) throw new Error('moto returned no key ARN');
  return arn;
}

let vault: KeyClient | undefined;

/** A Key Vault keys client for the Azure peer, with its test token. */
export function azureKeys(): KeyClient {
  if (vault) return vault;
  const peer = kmsPeer('azure');
  const ca = peer.caFile === undefined ? undefined : readFileSync(peer.caFile, 'utf8');
  const credential = { getToken: () => Promise.resolve({ token: peer.token ?? 'test', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  vault = new KeyClient(peer.endpoint, credential, {
    serviceVersion: '7.6', disableChallengeResourceVerification: true, ...(ca === undefined ? {} : { tlsOptions: { ca } }),
  });
  return vault;
}

/** Creates an RSA key (or a new version of an existing one) in the Azure peer; returns `{ versionless, id }`. */
export async function newAzureKeyVersion(name = `sealbox-${randomUUID()}`): Promise<{ versionless: string; id: string }> {
  const key = await azureKeys().createRsaKey(name, { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'] });
  if (key.id === undefined) throw new Error('vault returned no key id');
  return { versionless: `${kmsPeer('azure').endpoint}/keys/${name}`, id: key.id };
}
