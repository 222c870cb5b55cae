/**
 * Helpers for tests that run the built CLI against the KMS test servers:
 * the environment a user would set (AWS endpoint and credentials; the Key
 * Vault stand-in's CA and managed-identity endpoint, so DefaultAzureCredential
 * really runs), keys made on the servers, and a runner for `sealbox`.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { KeyClient } from '@azure/keyvault-keys';
import { checkedSync } from '../helpers/child.js';
import { MAIN, ensureBuilt } from '../helpers/cli.js';
import type { RunningPeer } from './kms-context.js';
import { kmsPeer } from './kms-context.js';

/** Region of the keys tests make on moto. */
export const AWS_REGION = 'eu-west-1';

/**
 * The environment of a CLI run against the peers: what a user sets to reach
 * them. Defaults to the `kms` project's peers; pass them explicitly elsewhere.
 */
export function kmsEnv(peers: { moto?: { endpoint: string }; azure?: RunningPeer } = { moto: kmsPeer('moto'), azure: kmsPeer('azure') }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the developer's own cloud setup may leak into a test run.
  for (const k of Object.keys(env)) if (/^(AWS_|AZURE_|IDENTITY_|MSI_)/.test(k)) Reflect.deleteProperty(env, k);
  const { moto, azure } = peers;
  return {
    ...env,
    ...(moto === undefined ? {} : { AWS_ENDPOINT_URL_KMS: moto.endpoint, AWS_REGION, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(azure?.caFile === undefined ? {} : { NODE_EXTRA_CA_CERTS: azure.caFile }),
    ...(azure?.identityEndpoint === undefined ? {} : { IDENTITY_ENDPOINT: azure.identityEndpoint, IDENTITY_HEADER: azure.identityHeader }),
    SEALBOX_AZURE_DISABLE_CHALLENGE_VERIFICATION: '1',
  };
}

/** What a CLI run did. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `sealbox ARGS` with the peers' environment (plus `env`), in `cwd`, with `input` on stdin. */
export function sealboxKms(
  args: readonly string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): CliRun {
  return runSealbox(args, { ...opts, env: { ...kmsEnv(), ...opts.env } });
}

/** Runs the built `sealbox ARGS` with exactly `env` (default: this process's). */
export function runSealbox(
  args: readonly string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): CliRun {
  ensureBuilt();
  const r = checkedSync(`sealbox ${args.join(' ')}`, spawnSync(process.execPath, [...(opts.nodeArgs ?? []), MAIN, ...args], {
    cwd: opts.cwd, input: opts.input ?? '', env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, encoding: 'utf8',
  }));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the built `sealbox ARGS` without waiting (to signal or kill it). */
export function spawnSealboxKms(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  ensureBuilt();
  return spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd, env: { ...kmsEnv(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
