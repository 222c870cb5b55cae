// The controller's HTTP server in-process, on an ephemeral port, with the
// committed test keys, hit with real HTTP: what each route answers, the body
// limits, the reading places, and the re-wrap endpoint's burst to the request.
import { request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GateLimits } from '../../../src/controller/admission.js';
import type { ReadLimits } from '../../../src/controller/body.js';
import type { SealingKey } from '../../../src/controller/keys.js';
import { Metrics } from '../../../src/controller/metrics.js';
import type { ServedKeys, ServerOptions } from '../../../src/controller/server.js';
import { DEFAULT_READ_LIMITS, DEFAULT_REWRAP_LIMITS, startServer } from '../../../src/controller/server.js';
import { sealSecret } from '../../../src/format/seal.js';
import { sealedManifest } from '../../../src/format/sealed.js';
import { vectorIdentity, vectorKey, vectorRecipient } from '../../helpers/keys.js';

/** A loaded sealing key made of a committed test key pair. */
function sealingKey(name: 'a' | 'b', createdAt: string): SealingKey {
  const identity = vectorIdentity(name);
  return { name: `sealbox-key-${name}`, createdAt: new Date(createdAt), sealingSince: new Date(createdAt), fingerprint: identity.fingerprint, certificatePem: vectorKey(name).certPem, identity, recipient: vectorRecipient(name) };
}

/** Keys, newest first, as a KeyManager serves them. */
function served(keys: readonly SealingKey[]): ServedKeys & { rsaOpsCounted: number } {
  return { keys, newest: keys[0], rsaOpsCounted: 0, countRsaOps() { this.rsaOpsCounted++; } };
}

interface Running {
  readonly url: string;
  readonly port: number;
  readonly logs: string[];
}

const servers: Server[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function start(o: Partial<ServerOptions> = {}): Promise<Running> {
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString('utf8')); done(); } });
  const server = await startServer({ listen: '127.0.0.1:0', keys: served([]), metrics: new Metrics(), log: pino({ level: 'info' }, sink), extraUnwrappers: () => [], ready: () => true, ...o });
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${String(port)}`, port, logs };
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${url}/v1/rewrap`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/**
 * Starts a request and sends the first piece of its body once the server has
 * taken it in (it answers `Expect: 100-continue` from the same tick in which
 * the request takes its reading place); `end` finishes it. `status` is the
 * answer, or 0 when the connection closed without one.
 */
function trickle(port: number, first: string): { taken: Promise<void>; status: Promise<number>; end: () => void } {
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/rewrap', headers: { 'transfer-encoding': 'chunked', 'expect': '100-continue' } });
  const taken = new Promise<void>((resolve) => {
    req.on('continue', () => { req.write(first); resolve(); });
  });
  const status = new Promise<number>((resolve) => {
    req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => { resolve(0); });
  });
  req.flushHeaders();
  return { taken, status, end: () => { void taken.then(() => req.end()); } };
}

describe('the controller HTTP server', () => {
  const a = sealingKey('a', '2026-02-01T00:00:00Z');
  const b = sealingKey('b', '2026-01-01T00:00:00Z');

  it('serves the newest certificate, all certificates and the key list, never a private key', async () => {
    const s = await start({ keys: served([a, b]) });
    const one = await fetch(`${s.url}/v1/cert.pem`);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/x-pem-file');
    expect(await one.text()).toBe(a.certificatePem);
    expect(await (await fetch(`${s.url}/v1/certs.pem`)).text()).toBe(a.certificatePem + b.certificatePem);
    const list = await (await fetch(`${s.url}/v1/keys`)).json();
    expect(list).toEqual([
      { fingerprint: a.fingerprint, secret: 'sealbox-key-a', createdAt: '2026-02-01T00:00:00.000Z', newest: true },
      { fingerprint: b.fingerprint, secret: 'sealbox-key-b', createdAt: '2026-01-01T00:00:00.000Z', newest: false },
    ]);
    for (const path of ['/v1/cert.pem', '/v1/certs.pem', '/v1/keys', '/metrics']) {
      const text = await (await fetch(`${s.url}${path}`)).text();
      expect(text, path).not.toContain('PRIVATE KEY');
      for (const k of ['a', 'b'] as const) expect(text.includes(vectorKey(k).keyPem.split('\n')[1] ?? '-'), path).toBe(false);
    }
  });

  it('answers 503 for certificates and re-wraps before the first key exists', async () => {
    const s = await start();
    for (const path of ['/v1/cert.pem', '/v1/certs.pem']) expect((await fetch(`${s.url}${path}`)).status, path).toBe(503);
    expect((await post(s.url, '{}')).status).toBe(503);
    expect(await (await fetch(`${s.url}/v1/keys`)).json()).toEqual([]);
  });

  it('answers health, readiness and metrics', async () => {
    let ready = false;
    const s = await start({ ready: () => ready });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${s.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('sealbox_rsa_private_operations_total');
  });

  it.each([['GET', '/'], ['GET', '/v1/'], ['GET', '/v1/key.pem'], ['POST', '/healthz'], ['DELETE', '/v1/cert.pem'], ['POST', '/v1/keys']])('answers 404 to %s %s', async (method, path) => {
    const s = await start({ keys: served([a]) });
    expect((await fetch(`${s.url}${path}`, { method })).status).toBe(404);
  });

  it.each(['GET', 'PUT', 'DELETE'])('answers 405 to %s /v1/rewrap', async (method) => {
    const s = await start({ keys: served([a]) });
    const res = await fetch(`${s.url}/v1/rewrap`, { method });
    expect(res.status).toBe(405);
    expect(await res.text()).toBe('error: use POST\n');
  });

  it('answers 500 without details when a handler fails, and logs it', async () => {
    const s = await start({ ready: () => { throw new Error('readiness probe broke'); } });
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('error: internal error\n');
    expect(s.logs.join('')).toContain('readiness probe broke');
  });
});

/** A sealed resource for `recipients`, as `sealbox reseal` sends it. */
async function sealedJson(recipients: readonly SealingKey[], namespace = 'ns'): Promise<string> {
  const sealed = await sealSecret({ name: 'db', namespace, type: 'Opaque', labels: {}, annotations: {}, data: new Map([['password', new Uint8Array(Buffer.from('hunter2-plaintext'))]]) }, { scope: 'strict', wrappers: recipients.map((k) => k.recipient) });
  return JSON.stringify(sealedManifest(sealed));
}

interface Wire { spec: { encryptedData: Record<string, string>; dataKeys: { recipients: { id: string }[] }[] } }

describe('POST /v1/rewrap', () => {
  const a = sealingKey('a', '2026-02-01T00:00:00Z');
  const b = sealingKey('b', '2026-01-01T00:00:00Z');

  it('re-wraps to the newest key, keeps every ciphertext and returns no plaintext', async () => {
    const keys = served([a, b]);
    const s = await start({ keys });
    const body = await sealedJson([b]);
    const r = await post(s.url, body);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const out = JSON.parse(r.text) as Wire;
    expect(out.spec.encryptedData).toEqual((JSON.parse(body) as Wire).spec.encryptedData);
    expect(out.spec.dataKeys.flatMap((g) => g.recipients.map((x) => x.id))).toEqual([a.fingerprint]);
    expect(r.text).not.toContain('hunter2');
    expect(keys.rsaOpsCounted).toBeGreaterThan(0);
  });

  it('answers 422 with the code for what it cannot unseal, 400 for what is not one sealed resource', async () => {
    const s = await start({ keys: served([a]) });
    const foreign = await post(s.url, await sealedJson([b]));
    expect(foreign.status).toBe(422);
    expect((JSON.parse(foreign.text) as { code: string }).code).toBe('NO_KEY');
    expect(foreign.text).not.toContain('hunter2');
    for (const body of ['kind: ConfigMap\n', '{"kind":"ConfigMap"}', '[]']) expect((await post(s.url, body)).status, body).toBe(400);
  });

  it('accepts a body of exactly the limit and answers 413 to one byte more, announced or streamed', async () => {
    const limits: ReadLimits = { ...DEFAULT_READ_LIMITS, maxBytes: 1024 };
    const s = await start({ keys: served([a]), readLimits: limits });
    expect((await post(s.url, Buffer.alloc(1024, ' '))).status).toBe(400);
    const announced = await post(s.url, Buffer.alloc(1025, ' '));
    expect(announced.status).toBe(413);
    expect(announced.text).toBe('error: body larger than 1024 bytes\n');
    const streamed = trickle(s.port, ' '.repeat(600));
    const second = trickle(s.port, ' '.repeat(1025));
    second.end();
    expect(await second.status).toBe(413);
    streamed.end();
    expect(await streamed.status).toBe(400);
  });

  it('drops a body that goes silent, and lets each client read only its share of bodies at once', async () => {
    const limits: ReadLimits = { ...DEFAULT_READ_LIMITS, perClientConcurrency: 2, idleMs: 1000 };
    const s = await start({ keys: served([a]), readLimits: limits });
    const slow = [trickle(s.port, '{'), trickle(s.port, '{')];
    await Promise.all(slow.map((t) => t.taken));
    const third = await post(s.url, '{}');
    expect(third.status).toBe(429);
    expect(third.text).toBe('error: too many re-wrap requests being sent; retry shortly\n');
    expect((await post(s.url, '{}', { 'x-forwarded-for': '10.1.1.1' })).status, 'another client reads its own').toBe(400);
    // silent for 1 s: dropped, the connection closed without an answer
    expect(await Promise.all(slow.map((t) => t.status))).toEqual([0, 0]);
    expect((await post(s.url, '{}')).status, 'the places are free again').toBe(400);
  });

  it('lets exactly the burst through, per client and overall, then answers 429 until tokens come back', async () => {
    // The clock stands still unless the test moves it: no token comes back by itself.
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const limits: GateLimits = { concurrency: 100, perClientConcurrency: 100, rate: 3, perClientRate: 2 };
    const s = await start({ keys: served([a]), rewrapLimits: limits });
    const send = async (client: string, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await post(s.url, '{}', { 'x-forwarded-for': client })).status);
      return out;
    };
    // per client: burst 4 (twice 2/s); overall: burst 6 (twice 3/s)
    expect(await send('10.0.0.1', 5)).toEqual([400, 400, 400, 400, 429]);
    expect(await send('10.0.0.2', 3), 'the overall burst is spent after 2 more').toEqual([400, 400, 429]);
    const refused = await post(s.url, '{}', { 'x-forwarded-for': '10.0.0.3' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.text).toBe('error: too many re-wrap requests; retry shortly\n');
    vi.advanceTimersByTime(1000); // 3 tokens more overall, 2 more for each client (the buckets read performance.now)
    expect(await send('10.0.0.1', 3), 'its own rate limits the first client').toEqual([400, 400, 429]);
    expect(await send('10.0.0.3', 2), 'the overall rate limits the next').toEqual([400, 429]);
  });

  it('by default lets each client through in bursts of 20 and everyone in bursts of 40', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    expect(DEFAULT_REWRAP_LIMITS).toEqual({ concurrency: 4, perClientConcurrency: 1, rate: 20, perClientRate: 10 });
    const s = await start({ keys: served([a]) });
    for (const client of ['10.0.0.1', '10.0.0.2']) {
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) statuses.push((await post(s.url, '{}', { 'x-forwarded-for': client })).status);
      expect(statuses, client).toEqual([...Array<number>(20).fill(400), 429]);
    }
    expect((await post(s.url, '{}', { 'x-forwarded-for': '10.0.0.3' })).status).toBe(429);
  });
});
