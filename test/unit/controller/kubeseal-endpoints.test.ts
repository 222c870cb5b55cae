// kubeseal's endpoints (/v1/verify, /v1/rotate) of the controller's HTTP
// server in compatibility mode, in-process with the committed test keys, on
// SealedSecrets made by the real kubeseal v0.36.6 (test/vectors/bitnami).
// test/integration/kubeseal-endpoints.test.ts drives them with kubeseal itself.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bitnamiLabel, bitnamiScopeOf, decryptBitnamiValue } from '../../../src/crypto/bitnami.js';
import type { SealingKey } from '../../../src/controller/keys.js';
import { MAX_KUBESEAL_VALUES } from '../../../src/controller/kubeseal-endpoints.js';
import { Metrics } from '../../../src/controller/metrics.js';
import { startServer } from '../../../src/controller/server.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../../helpers/keys.js';

interface Sealed {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: { encryptedData: Record<string, string>; template?: unknown; data?: unknown };
}

function vector(file: string): Sealed {
  return parse(readFileSync(fileURLToPath(new URL(`../../vectors/bitnami/${file}`, import.meta.url)), 'utf8')) as Sealed;
}

const plaintext: Record<string, Buffer> = {
  password: Buffer.from('hunter2'),
  empty: Buffer.alloc(0),
  unicode: Buffer.from('pässwörd ✓'),
  binary: Buffer.from('AP8Q7oCAwMH+/w==', 'base64'),
};

function sealingKey(name: 'a' | 'b', createdAt: string): SealingKey {
  const identity = vectorIdentity(name);
  return { name: `sealbox-key-${name}`, createdAt: new Date(createdAt), sealingSince: new Date(createdAt), fingerprint: identity.fingerprint, certificatePem: vectorKey(name).certPem, identity, recipient: vectorRecipient(name) };
}
const a = sealingKey('a', '2026-02-01T00:00:00Z');
const b = sealingKey('b', '2026-01-01T00:00:00Z');

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** Starts the server with `keys` (newest first); returns its URL. */
async function start(keys: readonly SealingKey[], compat = true): Promise<string> {
  const server = await startServer({
    listen: '127.0.0.1:0', keys: { keys, newest: keys[0], countRsaOps: () => undefined }, metrics: new Metrics(),
    log: pino({ level: 'silent' }), extraUnwrappers: () => [], ready: () => true, sealedSecretsCompat: compat,
  });
  servers.push(server);
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

describe('POST /v1/verify (kubeseal --validate)', () => {
  it.each(['a.strict.yaml', 'a.namespace-wide.yaml', 'a.cluster-wide.yaml'])('answers 200 for %s, sealed by kubeseal for an older key than the newest', async (file) => {
    const url = await start([b, a]);
    expect(await post(url, '/v1/verify', vector(file))).toEqual({ status: 200, text: 'ok\n' });
  });

  it('answers 409 for a strict SealedSecret renamed, moved to another namespace, or sealed for a key it lacks, naming no plaintext', async () => {
    const url = await start([a]);
    const renamed = { ...vector('a.strict.yaml'), metadata: { name: 'other', namespace: 'prod' } };
    const moved = { ...vector('a.strict.yaml'), metadata: { name: 'db', namespace: 'staging' } };
    for (const sealed of [renamed, moved, vector('b.strict.yaml')]) {
      const r = await post(url, '/v1/verify', sealed);
      expect(r.status).toBe(409);
      expect(r.text).toMatch(/^error: sealed secret "[a-z]+\/[a-z]+": value "[a-z]+" does not unseal with any of this controller's 1 keys/);
      for (const v of Object.values(plaintext).filter((p) => p.length > 0)) expect(r.text).not.toContain(v.toString('utf8'));
    }
  });

  it('answers 400 for a body that is not one bitnami SealedSecret in JSON, or that holds the legacy spec.data', async () => {
    const url = await start([a]);
    const legacy = { ...vector('a.strict.yaml'), spec: { ...vector('a.strict.yaml').spec, data: 'AAAA' } };
    const tooMany = { ...vector('a.strict.yaml'), spec: { encryptedData: Object.fromEntries(Array.from({ length: MAX_KUBESEAL_VALUES + 1 }, (_, i) => [`k${String(i)}`, 'AAAA'])) } };
    for (const body of ['kind: SealedSecret', { ...vector('a.strict.yaml'), apiVersion: 'sealbox.dev/v1' }, legacy, tooMany, { ...vector('a.strict.yaml'), spec: { encryptedData: { x: 1 } } }]) {
      expect((await post(url, '/v1/verify', body)).status).toBe(400);
    }
  });

  it('is not served without --sealed-secrets-compat', async () => {
    const url = await start([a], false);
    expect((await post(url, '/v1/verify', vector('a.strict.yaml'))).status).toBe(404);
    expect((await post(url, '/v1/rotate', vector('a.strict.yaml'))).status).toBe(404);
  });
});

describe('POST /v1/rotate (kubeseal --re-encrypt)', () => {
  it.each(['b.strict.yaml'])('seals every value of %s again for the newest key, same scope, and keeps the rest', async (file) => {
    const url = await start([a, b]);
    const input = vector(file);
    const r = await post(url, '/v1/rotate', input);
    expect(r.status).toBe(200);
    const out = JSON.parse(r.text) as Sealed;
    expect({ ...out, spec: { ...out.spec, encryptedData: {} } }).toEqual({ ...input, spec: { ...input.spec, encryptedData: {} } });
    expect(Object.keys(out.spec.encryptedData).sort()).toEqual(Object.keys(plaintext).sort());
    const label = bitnamiLabel(bitnamiScopeOf(input.metadata.annotations), input.metadata.namespace, input.metadata.name);
    for (const [k, v] of Object.entries(out.spec.encryptedData)) {
      const bytes = new Uint8Array(Buffer.from(v, 'base64'));
      expect(Buffer.from(decryptBitnamiValue(createPrivateKey(vectorKey('a').keyPem), bytes, label) ?? [])).toEqual(plaintext[k]);
      expect(decryptBitnamiValue(createPrivateKey(vectorKey('b').keyPem), bytes, label)).toBeNull();
    }
  });

  it('answers 409 when a value does not unseal with any key, and returns no ciphertext', async () => {
    const url = await start([a]);
    const r = await post(url, '/v1/rotate', vector('b.strict.yaml'));
    expect(r.status).toBe(409);
    expect(r.text).not.toContain('encryptedData');
  });
});
