/**
 * The AWS KMS provider against a real moto server (test/peers, docs/KMS.md).
 * Each test makes its own keys, so tests do not depend on one another.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Binding, WrappedKey } from '../../src/crypto/types.js';
import { AwsKmsKey, awsKmsKeyFromSpec } from '../../src/keys/aws-kms.js';
import { createLimiter } from '../../src/keys/kms-common.js';
import { kmsKeyFromSpec } from '../../src/keys/kms-spec.js';
import { kmsPeer } from '../peers/kms-context.js';
import { freePort, startMoto } from '../peers/kms-servers.js';
import { expectSealboxError } from '../helpers/errors.js';

const region = 'eu-west-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const strict: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };

let cached: KMSClient | undefined;

/**
 * The client of this run's moto server. Called inside each test, so that every
 * test fails with the reason when the server could not be installed or started.
 */
function moto(): KMSClient {
  cached ??= client(kmsPeer('moto').endpoint);
  return cached;
}

function client(endpoint: string): KMSClient {
  return new KMSClient({ region, endpoint, credentials, maxAttempts: 2 });
}

async function newKeyArn(): Promise<string> {
  const out = await moto().send(new CreateKeyCommand({ Description: 'sealbox test' }));
  const arn = out.KeyMetadata?.Arn;
  if (arn === undefined) throw new Error('moto returned no key ARN');
  return arn;
}

async function newAlias(targetArn: string): Promise<string> {
  const alias = `alias/sealbox-test-${randomUUID()}`;
  await moto().send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: targetArn }));
  return alias;
}

/** Resolves to the error `p` rejects with; fails when it resolves. */
/** Fails when the error, its message or its cause chain shows the data key in any encoding. */
function expectNoKey(err: Error, dataKey: Uint8Array): void {
  const b = Buffer.from(dataKey);
  const encodings = [b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('hex').toUpperCase()];
  const seen: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    seen.push(e.message, e.stack ?? '', JSON.stringify(e), String(e));
  }
  const text = seen.join('\n');
  for (const enc of encodings) expect(text).not.toContain(enc);
}

/** A TCP server that accepts connections and never answers; records when each connection came. */
async function silentServer(): Promise<{ endpoint: string; accepted: number[]; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const accepted: number[] = [];
  const srv: Server = createServer((s) => {
    sockets.push(s);
    accepted.push(Date.now());
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    endpoint: `http://127.0.0.1:${String(addr.port)}`,
    accepted,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); srv.close(() => { resolve(); }); }),
  };
}

describe('aws kms key', () => {
  it('wraps a data key under the key ARN and unwraps it to the same bytes', async () => {
    const arn = await newKeyArn();
    const key = new AwsKmsKey({ client: moto(), keyId: arn });
    const dataKey = randomBytes(32);

    const stanza = await key.wrap(dataKey, strict);

    expect(stanza.type).toBe('aws-kms');
    expect(stanza.id).toBe(arn);
    expect(Buffer.from(stanza.wrapped).includes(dataKey)).toBe(false);
    expect(Buffer.from((await key.unwrap(stanza, strict)) ?? [])).toEqual(dataKey);
  });

  it('names the key ARN, not the alias, in the stanza of a key configured by alias', async () => {
    const arn = await newKeyArn();
    const alias = await newAlias(arn);
    const key = new AwsKmsKey({ client: moto(), keyId: alias });
    const dataKey = randomBytes(32);

    const stanza = await key.wrap(dataKey, strict);

    expect(stanza.id).toBe(arn);
    expect(key.recipient).toEqual({ type: 'aws-kms', id: alias });
    expect(key.keyArn).toBe(arn);
    expect(Buffer.from((await key.unwrap(stanza, strict)) ?? [])).toEqual(dataKey);
  });

  it('resolves an alias ARN to the key ARN before unwrapping with a fresh instance', async () => {
    const arn = await newKeyArn();
    const alias = await newAlias(arn);
    const aliasArn = arn.replace(/:key\/.*$/, `:${alias}`);
    const dataKey = randomBytes(32);
    const stanza = await new AwsKmsKey({ client: moto(), keyId: arn }).wrap(dataKey, strict);

    const byAlias = new AwsKmsKey({ client: moto(), keyId: aliasArn });

    expect(byAlias.keyArn).toBeUndefined();
    expect(Buffer.from((await byAlias.unwrap(stanza, strict)) ?? [])).toEqual(dataKey);
    expect(byAlias.keyArn).toBe(arn);
  });

  it('refuses a wrapped data key moved to another namespace with a TAMPERED error naming the binding', async () => {
    const arn = await newKeyArn();
    const key = new AwsKmsKey({ client: moto(), keyId: arn });
    const dataKey = randomBytes(32);
    const stanza = await key.wrap(dataKey, { scope: 'namespace', namespace: 'prod', name: 'db' });

    const err = await expectSealboxError(key.unwrap(stanza, { scope: 'namespace', namespace: 'staging', name: 'db' }), 'TAMPERED', 'namespace/staging');
    expect(err.message).toContain(arn);
    expectNoKey(err, dataKey);
  });

  it('refuses a strict wrap used for another secret name and a wrap whose bytes were altered', async () => {
    const arn = await newKeyArn();
    const key = new AwsKmsKey({ client: moto(), keyId: arn });
    const stanza = await key.wrap(randomBytes(32), strict);
    const altered = Uint8Array.from(stanza.wrapped);
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;

    await expectSealboxError(key.unwrap(stanza, { ...strict, name: 'db2' }), 'TAMPERED', /^aws kms key "arn:aws:kms:[^"]+" refused the wrapped data key for "strict\/prod\/db2" \(InvalidCiphertextException\): it was sealed for another location or altered; reseal it for this location$/);
    await expectSealboxError(key.unwrap({ ...stanza, wrapped: altered }, strict), 'TAMPERED', /^aws kms key "arn:aws:kms:[^"]+" refused the wrapped data key for "strict\/prod\/db" \(InvalidCiphertextException\): it was sealed for another location or altered/);
  });

  it('returns null without any call for stanzas of another type or another key', async () => {
    const closed = `http://127.0.0.1:${String(await freePort())}`;
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    const offline = new AwsKmsKey({ client: client(closed), keyId: arn });
    const wrapped = randomBytes(64);
    const others: WrappedKey[] = [
      { type: 'cert', id: 'ab'.repeat(32), wrapped },
      { type: 'azure-kv', id: 'https://v.vault.azure.net/keys/k/1', wrapped },
      { type: 'azure-kv', id: arn, wrapped },
      { type: 'cert', id: arn, wrapped },
      { type: 'aws-kms', id: arn.replace('1111', '9999'), wrapped },
      { type: 'aws-kms', id: arn.replace('eu-west-1', 'us-east-1'), wrapped },
    ];

    for (const stanza of others) expect(await offline.unwrap(stanza, strict)).toBeNull();
  });

  it('reports an unreachable server as a PROVIDER error naming aws kms and the key, without the data key', async () => {
    const closed = `http://127.0.0.1:${String(await freePort())}`;
    const arn = await newKeyArn();
    const offline = new AwsKmsKey({ client: client(closed), keyId: arn });
    const dataKey = randomBytes(32);
    const stanza = await new AwsKmsKey({ client: moto(), keyId: arn }).wrap(dataKey, strict);

    const wrapErr = await expectSealboxError(offline.wrap(dataKey, strict), 'PROVIDER', /^aws kms key "arn:aws:kms:[^"]+"/);
    const unwrapErr = await expectSealboxError(offline.unwrap(stanza, strict), 'PROVIDER', /^aws kms key "arn:aws:kms:[^"]+"/);

    for (const err of [wrapErr, unwrapErr]) {
      expect(err.message).toContain(arn);
      expect(err.message).toContain('ECONNREFUSED');
      expect(err.message).toContain('check the endpoint');
      expectNoKey(err, dataKey);
    }
  });

  it('reports a server stopped after sealing as a PROVIDER error when unwrapping', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sealbox-kms-test-'));
    const own = await startMoto({ stateDir });
    const ownClient = client(own.endpoint);
    try {
      const out = await ownClient.send(new CreateKeyCommand({}));
      const key = new AwsKmsKey({ client: ownClient, keyId: out.KeyMetadata?.Arn ?? '' });
      const dataKey = randomBytes(32);
      const stanza = await key.wrap(dataKey, strict);

      await own.stop();
      const err = await expectSealboxError(key.unwrap(stanza, strict), 'PROVIDER', `aws kms key "${stanza.id}": decrypt failed`);
      expectNoKey(err, dataKey);
    } finally {
      ownClient.destroy();
      await own.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('gives up on a server that never answers after the time limit, as a PROVIDER error', async () => {
    const silent = await silentServer();
    try {
      const arn = await newKeyArn();
      const stuck = new AwsKmsKey({ client: client(silent.endpoint), keyId: arn, timeoutMs: 500 });
      const dataKey = randomBytes(32);
      const started = Date.now();

      const err = await expectSealboxError(stuck.wrap(dataKey, strict), 'PROVIDER', 'no answer within 0.5 s');

      expect(Date.now() - started).toBeLessThan(5_000);
      expectNoKey(err, dataKey);
    } finally {
      await silent.close();
    }
  });

  it('keeps at most the limiter\'s number of calls in flight and times each out from when it starts', async () => {
    const silent = await silentServer();
    try {
      const arn = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
      const limiter = createLimiter(2);
      const stuck = new AwsKmsKey({ client: client(silent.endpoint), keyId: arn, timeoutMs: 500, limiter });
      const started = Date.now();

      await Promise.all(Array.from({ length: 6 }, () => expectSealboxError(stuck.wrap(randomBytes(32), strict), 'PROVIDER', 'no answer within 0.5 s')));

      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 500);
      // Calls come in waves of two, one wave per time limit.
      expect(silent.accepted).toHaveLength(6);
      for (const t of silent.accepted) expect(silent.accepted.filter((u) => u >= t && u < t + 300).length).toBeLessThanOrEqual(2);
    } finally {
      await silent.close();
    }
  });

  it('re-wraps a stanza to another key with ReEncrypt, keeping the data key', async () => {
    const from = new AwsKmsKey({ client: moto(), keyId: await newKeyArn() });
    const toArn = await newKeyArn();
    const to = new AwsKmsKey({ client: moto(), keyId: toArn });
    const dataKey = randomBytes(32);
    const stanza = await from.wrap(dataKey, strict);

    const moved = await from.rewrap(stanza, strict, to);

    expect(moved?.id).toBe(toArn);
    expect(await to.unwrap(stanza, strict)).toBeNull();
    if (moved === null) throw new Error('rewrap returned null');
    expect(Buffer.from((await to.unwrap(moved, strict)) ?? [])).toEqual(dataKey);
  });

  it('builds a key from an aws: spec with the default credential chain and AWS_ENDPOINT_URL_KMS', async () => {
    const arn = await newKeyArn();
    vi.stubEnv('AWS_ENDPOINT_URL_KMS', kmsPeer('moto').endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'env-test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-test');
    try {
      const key = await kmsKeyFromSpec(`aws:${arn}`);
      const dataKey = randomBytes(32);

      const stanza = await key.wrap(dataKey, strict);

      expect(key).toBeInstanceOf(AwsKmsKey);
      expect(stanza.id).toBe(arn);
      expect(Buffer.from((await key.unwrap(stanza, strict)) ?? [])).toEqual(dataKey);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('rejects a spec that names no KMS key as INPUT before any call', async () => {
    for (const spec of ['aws:', 'aws:arn:aws:s3:::bucket', 'aws:alias/', 'aws:key-name']) {
      await expectSealboxError(awsKmsKeyFromSpec(spec), 'INPUT', /^invalid aws kms key "[^"]*": use a key ARN, an alias ARN, "alias\/NAME" or a key id$/);
    }
    await expectSealboxError(kmsKeyFromSpec('gcp:projects/x'), 'INPUT', /^invalid kms key "gcp:projects\/x": use aws:KEY_ARN_OR_ALIAS or azure:https:\/\/VAULT\/keys\/NAME\[\/VERSION\]$/);
  });
});

afterAll(() => {
  cached?.destroy();
});
