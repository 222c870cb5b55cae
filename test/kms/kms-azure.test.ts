/**
 * The Azure Key Vault provider against the `kms` project's Azure peer: the
 * Key Vault stand-in test/peers/keyvault-server.mjs (or Lowkey Vault with
 * SEALBOX_TEST_AZURE_PEER=lowkey; docs/KMS.md), trusted through its CA file,
 * never with TLS checks off. Each test makes its own keys, so tests do not
 * depend on one another.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KeyClient } from '@azure/keyvault-keys';
import type { CryptographyClientOptions } from '@azure/keyvault-keys';
import { describe, expect, it } from 'vitest';
import type { Binding, WrappedKey } from '../../src/crypto/types.js';
import type { AzureCredential } from '../../src/keys/azure-kv.js';
import { AzureKvKey, azureKvKeyFromSpec } from '../../src/keys/azure-kv.js';
import { kmsKeyFromSpec, kmsOptionsFromEnv } from '../../src/keys/kms-spec.js';
import { kmsPeer } from '../peers/kms-context.js';
import { freePort } from '../peers/kms-servers.js';
import { expectSealboxError } from '../helpers/errors.js';

// The stand-in accepts the token it printed at start (Lowkey accepts any); the
// SDK still runs its challenge flow.
const credential: AzureCredential = {
  getToken: () => Promise.resolve({ token: kmsPeer('azure').token ?? 'test', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
const strict: Binding = { scope: 'strict', namespace: 'prod', name: 'db' };

interface Vault {
  readonly url: string;
  readonly caPem: string;
  readonly options: CryptographyClientOptions;
  readonly keys: KeyClient;
}
let cached: Vault | undefined;

/**
 * The Azure peer of this run. Called inside each test, so that every test
 * fails with the reason when the server could not be installed or started.
 */
function vault(): Vault {
  if (cached) return cached;
  const peer = kmsPeer('azure');
  if (peer.caFile === undefined) throw new Error('azure peer has no CA file');
  const caPem = readFileSync(peer.caFile, 'utf8');
  // The emulator's auth challenge names no Key Vault domain, so its check is off.
  const options = { serviceVersion: '7.6', disableChallengeResourceVerification: true, tlsOptions: { ca: caPem } };
  cached = { url: peer.endpoint, caPem, options, keys: new KeyClient(peer.endpoint, credential, options) };
  return cached;
}

/** Creates an RSA key (or a new version of it) and returns its versioned id. */
async function newKeyVersion(name: string): Promise<string> {
  const key = await vault().keys.createRsaKey(name, { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'] });
  if (key.id === undefined) throw new Error('vault returned no key id');
  return key.id;
}

function azureKey(keyId: string, extra: Partial<ConstructorParameters<typeof AzureKvKey>[0]> = {}): AzureKvKey {
  return new AzureKvKey({ keyId, credential, clientOptions: vault().options, ...extra });
}

function expectNoKey(err: Error, dataKey: Uint8Array): void {
  const b = Buffer.from(dataKey);
  const encodings = [b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('hex').toUpperCase()];
  const seen: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) seen.push(e.message, e.stack ?? '', JSON.stringify(e));
  const text = seen.join('\n');
  for (const enc of encodings) expect(text).not.toContain(enc);
}

const name = (): string => `sealbox-${randomUUID()}`;

describe('azure key vault key', () => {
  it('wraps with the newest version, names it in the stanza, and unwraps to the same bytes', async () => {
    const keyName = name();
    const versioned = await newKeyVersion(keyName);
    const key = azureKey(`${vault().url}/keys/${keyName}`);
    const dataKey = randomBytes(32);

    const stanza = await key.wrap(dataKey);

    expect(stanza.type).toBe('azure-kv');
    expect(stanza.id).toBe(versioned);
    expect(Buffer.from((await key.unwrap(stanza)) ?? [])).toEqual(dataKey);
  });

  it('wraps with a new key version once it exists and still unwraps stanzas of the old one', async () => {
    const keyName = name();
    const v1 = await newKeyVersion(keyName);
    const old = await azureKey(`${vault().url}/keys/${keyName}`).wrap(randomBytes(32));
    const v2 = await newKeyVersion(keyName);
    const key = azureKey(`${vault().url}/keys/${keyName}`);
    const dataKey = randomBytes(32);

    const fresh = await key.wrap(dataKey);

    expect(old.id).toBe(v1);
    expect(fresh.id).toBe(v2);
    expect(v2).not.toBe(v1);
    expect(await key.unwrap(old)).toHaveLength(32);
    expect(Buffer.from((await key.unwrap(fresh)) ?? [])).toEqual(dataKey);
  });

  it('keeps wrapping with a pinned version after a newer one exists', async () => {
    const keyName = name();
    const v1 = await newKeyVersion(keyName);
    await newKeyVersion(keyName);

    const stanza = await azureKey(v1).wrap(randomBytes(32));

    expect(stanza.id).toBe(v1);
  });

  it('unwraps regardless of the binding, which the values themselves enforce', async () => {
    const keyName = name();
    await newKeyVersion(keyName);
    const key = azureKey(`${vault().url}/keys/${keyName}`);
    const dataKey = randomBytes(32);
    const stanza = await key.wrap(dataKey);

    const moved = await key.unwrap(stanza);

    expect(Buffer.from(moved ?? [])).toEqual(dataKey);
  });

  it('refuses wrapped bytes that were altered with a TAMPERED error, without the data key', async () => {
    const keyName = name();
    await newKeyVersion(keyName);
    const key = azureKey(`${vault().url}/keys/${keyName}`);
    const dataKey = randomBytes(32);
    const stanza = await key.wrap(dataKey);
    const altered = Uint8Array.from(stanza.wrapped);
    altered[7] = (altered[7] ?? 0) ^ 0x40;

    const err = await expectSealboxError(key.unwrap({ ...stanza, wrapped: altered }), 'TAMPERED', stanza.id);
    expectNoKey(err, dataKey);
  });

  it('returns null without any call for stanzas of another type, vault or key name', async () => {
    const closed = `https://127.0.0.1:${String(await freePort())}`;
    const offline = new AzureKvKey({ keyId: `${closed}/keys/mine`, credential });
    const wrapped = randomBytes(256);
    const others: WrappedKey[] = [
      { type: 'cert', id: 'ab'.repeat(32), wrapped },
      { type: 'aws-kms', id: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555', wrapped },
      { type: 'azure-kv', id: `${closed}/keys/other/0123456789abcdef`, wrapped },
      { type: 'aws-kms', id: `${closed}/keys/mine/0123456789abcdef`, wrapped },
      { type: 'azure-kv', id: `https://127.0.0.2:1/keys/mine/0123456789abcdef`, wrapped },
      { type: 'azure-kv', id: 'not a url', wrapped },
    ];

    for (const stanza of others) expect(await offline.unwrap(stanza)).toBeNull();
  });

  it('reports an unreachable vault as a PROVIDER error naming azure key vault and the key, without the data key', async () => {
    const closed = `https://127.0.0.1:${String(await freePort())}`;
    const offline = azureKey(`${closed}/keys/mine/0123456789abcdef`, { clientOptions: { ...vault().options, retryOptions: { maxRetries: 1 } } });
    const dataKey = randomBytes(32);
    const stanza: WrappedKey = { type: 'azure-kv', id: `${closed}/keys/mine/0123456789abcdef`, wrapped: randomBytes(256) };

    const offlineKey = /^azure key vault key "https:\/\/127\.0\.0\.1:\d+\/keys\/mine\/0123456789abcdef"/;
    const wrapErr = await expectSealboxError(offline.wrap(dataKey), 'PROVIDER', offlineKey);
    const unwrapErr = await expectSealboxError(offline.unwrap(stanza), 'PROVIDER', offlineKey);

    for (const err of [wrapErr, unwrapErr]) {
      expect(err.message).toContain('ECONNREFUSED');
      expectNoKey(err, dataKey);
    }
  });

  it('builds a key from an azure: spec that trusts the vault through an extra CA certificate', async () => {
    const keyName = name();
    const versioned = await newKeyVersion(keyName);
    const key = await azureKvKeyFromSpec(`azure:${vault().url}/keys/${keyName}`, {
      credential, caPem: vault().caPem, ...kmsOptionsFromEnv({ SEALBOX_AZURE_DISABLE_CHALLENGE_VERIFICATION: '1' }).azure,
    });
    const dataKey = randomBytes(32);

    const stanza = await key.wrap(dataKey);

    expect(stanza.id).toBe(versioned);
    expect(Buffer.from((await key.unwrap(stanza)) ?? [])).toEqual(dataKey);
  });

  it('fails TLS, as a PROVIDER error, for a vault whose certificate is not trusted', async () => {
    const keyName = name();
    await newKeyVersion(keyName);
    const key = await kmsKeyFromSpec(`azure:${vault().url}/keys/${keyName}`, {
      azure: { credential, disableChallengeResourceVerification: true, clientOptions: { retryOptions: { maxRetries: 0 } } },
    });

    await expectSealboxError(key.wrap(randomBytes(32), strict), 'PROVIDER', /^azure key vault key /);
  });

  it('rejects a spec that names no Key Vault key as INPUT before any call', async () => {
    for (const spec of ['azure:http://v.vault.azure.net/keys/k', 'azure:https://v.vault.azure.net/secrets/k', 'azure:https://v.vault.azure.net/keys/k/1/x', 'azure:nope']) {
      await expectSealboxError(azureKvKeyFromSpec(spec, { credential }), 'INPUT', /^invalid azure key vault key id "[^"]*": .*; use https:\/\/VAULT\/keys\/NAME\[\/VERSION\]$/);
    }
  });
});
