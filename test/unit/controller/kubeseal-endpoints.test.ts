// kubeseal's endpoints (/v1/verify, /v1/rotate) of the controller's HTTP
// server in compatibility mode, in-process with the committed test keys, on
// SealedSecrets made by the real kubeseal v0.36.6 (test/vectors/bitnami).
// test/integration/kubeseal-endpoints.test.ts drives them with kubeseal itself.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bitnamiLabel, bitnamiScopeOf, decryptBitnamiValue, sealBitnamiValue } from '../../../src/crypto/bitnami.js';
import type { GateLimits } from '../../../src/controller/admission.js';
import type { SealingKey } from '../../../src/controller/keys.js';
import { MAX_KUBESEAL_VALUES } from '../../../src/controller/kubeseal-endpoints.js';
import { Metrics } from '../../../src/controller/metrics.js';
import { startServer } from '../../../src/controller/server.js';
import { BITNAMI_PLAINTEXT, bitnamiVector } from '../../helpers/bitnami-vectors.js';
import type { BitnamiSealed } from '../../helpers/bitnami-vectors.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../../helpers/keys.js';

function sealingKey(name: 'a' | 'b', createdAt: string): SealingKey {
  const identity = vectorIdentity(name);
  return { name: `sealbox-key-${name}`, createdAt: new Date(createdAt), sealingSince: new Date(createdAt), fingerprint: identity.fingerprint, certificatePem: vectorKey(name).certPem, identity, recipient: vectorRecipient(name) };
}
const a = sealingKey('a', '2026-02-01T00:00:00Z');
const b = sealingKey('b', '2026-01-01T00:00:00Z');

const servers: Server[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** Starts the server with `keys` (newest first); returns its URL. */
async function start(keys: readonly SealingKey[], compat = true, rewrapLimits?: GateLimits): Promise<string> {
  const server = await startServer({
    ...(rewrapLimits === undefined ? {} : { rewrapLimits }),
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
    expect(await post(url, '/v1/verify', bitnamiVector(file))).toEqual({ status: 200, text: 'ok\n' });
  });

  it('answers 409 for a strict SealedSecret renamed, moved to another namespace, or sealed for a key it lacks, naming no plaintext', async () => {
    const url = await start([a]);
    const renamed = { ...bitnamiVector('a.strict.yaml'), metadata: { name: 'other', namespace: 'prod' } };
    const moved = { ...bitnamiVector('a.strict.yaml'), metadata: { name: 'db', namespace: 'staging' } };
    for (const sealed of [renamed, moved, bitnamiVector('b.strict.yaml')]) {
      const r = await post(url, '/v1/verify', sealed);
      expect(r.status).toBe(409);
      expect(r.text).toMatch(/^error: sealed secret "[a-z]+\/[a-z]+": value "[a-z]+" does not unseal with any of this controller's 1 keys/);
      for (const v of Object.values(BITNAMI_PLAINTEXT).filter((p) => p.length > 0)) expect(r.text).not.toContain(v.toString('utf8'));
    }
  });

  it('answers 400 for a body that is not one bitnami SealedSecret in JSON, or that holds the legacy spec.data', async () => {
    const url = await start([a]);
    const legacy = { ...bitnamiVector('a.strict.yaml'), spec: { ...bitnamiVector('a.strict.yaml').spec, data: 'AAAA' } };
    const tooMany = { ...bitnamiVector('a.strict.yaml'), spec: { encryptedData: Object.fromEntries(Array.from({ length: MAX_KUBESEAL_VALUES + 1 }, (_, i) => [`k${String(i)}`, 'AAAA'])) } };
    for (const body of ['kind: SealedSecret', { ...bitnamiVector('a.strict.yaml'), apiVersion: 'sealbox.dev/v1' }, legacy, tooMany, { ...bitnamiVector('a.strict.yaml'), spec: { encryptedData: { x: 1 } } }]) {
      expect((await post(url, '/v1/verify', body)).status).toBe(400);
    }
  });

  it('is not served without --sealed-secrets-compat', async () => {
    const url = await start([a], false);
    expect((await post(url, '/v1/verify', bitnamiVector('a.strict.yaml'))).status).toBe(404);
    expect((await post(url, '/v1/rotate', bitnamiVector('a.strict.yaml'))).status).toBe(404);
  });
});

describe('POST /v1/rotate (kubeseal --re-encrypt)', () => {
  it.each(['b.strict.yaml'])('seals every value of %s again for the newest key, same scope, and keeps the rest', async (file) => {
    const url = await start([a, b]);
    const input = bitnamiVector(file);
    const r = await post(url, '/v1/rotate', input);
    expect(r.status).toBe(200);
    const out = JSON.parse(r.text) as BitnamiSealed;
    expect({ ...out, spec: { ...out.spec, encryptedData: {} } }).toEqual({ ...input, spec: { ...input.spec, encryptedData: {} } });
    expect(Object.keys(out.spec.encryptedData).sort()).toEqual(Object.keys(BITNAMI_PLAINTEXT).sort());
    const label = bitnamiLabel(bitnamiScopeOf(input.metadata.annotations), input.metadata.namespace, input.metadata.name);
    for (const [k, v] of Object.entries(out.spec.encryptedData)) {
      const bytes = new Uint8Array(Buffer.from(v, 'base64'));
      expect(Buffer.from(decryptBitnamiValue(createPrivateKey(vectorKey('a').keyPem), bytes, label) ?? [])).toEqual(BITNAMI_PLAINTEXT[k]);
      expect(decryptBitnamiValue(createPrivateKey(vectorKey('b').keyPem), bytes, label)).toBeNull();
    }
  });

  it('answers 409 when a value does not unseal with any key, and returns no ciphertext', async () => {
    const url = await start([a]);
    const r = await post(url, '/v1/rotate', bitnamiVector('b.strict.yaml'));
    expect(r.status).toBe(409);
    expect(r.text).not.toContain('encryptedData');
  });
});

describe('the rate limits of kubeseal\'s endpoints', () => {
  /** A SealedSecret of `n` values that open with no key (each costs no RSA operation here: only the charge is tested). */
  const many = (n: number): object => ({ ...bitnamiVector('a.strict.yaml'), spec: { encryptedData: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i)}`, 'AAAA'])) } });

  it.each(['/v1/verify', '/v1/rotate'])('%s charges one token per 64 values: a request of 65 spends the burst of 2 that two small ones would', async (path) => {
    // rate 1/s: a burst of 2 tokens per client and overall; the clock stands still, so no token comes back
    vi.useFakeTimers({ toFake: ['Date'] });
    const url = await start([a], true, { concurrency: 4, perClientConcurrency: 1, rate: 1, perClientRate: 1 });
    expect((await post(url, path, many(65))).status).toBe(409);
    const next = await post(url, path, many(1));
    expect(next.status).toBe(429);
  });

  it('answers 429 naming the count, and spends nothing, when a request needs more tokens than are left', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const url = await start([a], true, { concurrency: 4, perClientConcurrency: 1, rate: 1, perClientRate: 1 });
    const big = await post(url, '/v1/verify', many(192));
    expect(big.status).toBe(429);
    expect(big.text).toMatch(/^error: sealed secret "prod\/db": its 192 values count as 3 requests \(one per 64 values\)/);
    expect((await post(url, '/v1/verify', many(1))).status, 'the refused request spent only its admission token').toBe(409);
    expect((await post(url, '/v1/verify', many(1))).status, 'and now the burst is spent').toBe(429);
  });

  it('charges the key operations that values sealed for different keys cost: each value sealed for the key last in turn tried every key (attack18)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const [fa, fb] = [sealingKey('a', '2026-02-01T00:00:00Z'), sealingKey('b', '2026-01-01T00:00:00Z')];
    const url = await start([fa, fb], true, { concurrency: 4, perClientConcurrency: 1, rate: 1, perClientRate: 1 });
    const input = bitnamiVector('a.strict.yaml');
    const label = bitnamiLabel('strict', input.metadata.namespace, input.metadata.name);
    const pubs = { a: createPublicKey(vectorKey('a').certPem), b: createPublicKey(vectorKey('b').certPem) };
    const sealedFor = (who: (i: number) => 'a' | 'b'): object => ({ ...input, spec: { encryptedData: Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`k${String(i)}`, Buffer.from(sealBitnamiValue(pubs[who(i)], Buffer.from('v'), label)).toString('base64')])) } });
    // b, a, b, a…: with the key that opened the last value tried first, every value cost both keys: 256 operations for 2 tokens.
    const r = await post(url, '/v1/verify', sealedFor((i) => (i % 2 === 0 ? 'b' : 'a')));
    expect(r.status, r.text).toBe(429);
    expect(r.text).toMatch(/need more key operations than the controller's rate limit has left/);
    expect(fa.identity.privateOps + fb.identity.privateOps).toBeLessThanOrEqual(2 * 64 + 2);
  });

  it('takes 128 values sealed for the older key with the 2 tokens they are charged', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const [fa, fb] = [sealingKey('a', '2026-02-01T00:00:00Z'), sealingKey('b', '2026-01-01T00:00:00Z')];
    const url = await start([fa, fb], true, { concurrency: 4, perClientConcurrency: 1, rate: 1, perClientRate: 1 });
    const input = bitnamiVector('a.strict.yaml');
    const label = bitnamiLabel('strict', input.metadata.namespace, input.metadata.name);
    const pub = createPublicKey(vectorKey('b').certPem);
    const body = { ...input, spec: { encryptedData: Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`k${String(i)}`, Buffer.from(sealBitnamiValue(pub, Buffer.from('v'), label)).toString('base64')])) } };
    expect((await post(url, '/v1/verify', body)).status).toBe(200);
    expect(fa.identity.privateOps + fb.identity.privateOps).toBe(129);
  });

  it(`still takes a request of ${String(MAX_KUBESEAL_VALUES)} values under the default limits`, async () => {
    const url = await start([a]);
    expect((await post(url, '/v1/verify', many(MAX_KUBESEAL_VALUES))).status).toBe(409);
    expect((await post(url, '/v1/verify', bitnamiVector('a.strict.yaml'))).status).toBe(200);
  });
});
