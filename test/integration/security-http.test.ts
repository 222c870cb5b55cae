// The controller's HTTP endpoints under abuse (issue 7, item 6): request bodies
// are capped (413), the re-wrap endpoint is rate-limited (429), no response
// ever carries key material, and the re-encrypt endpoint refuses what it
// cannot unseal with 422 and the specific error code, without plaintext.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { generateSealingKey } from '../../src/keys/cert-gen.js';
import { kubeConfig } from '../cluster/helpers.js';
import { useController } from '../controller/harness.js';
import type { SealedObject } from '../controller/sealed.js';
import { fetchCert, seal } from '../controller/sealed.js';

const env = useController({ prefix: 'sec-http' });
const MARKER = `http-${randomBytes(8).toString('hex')}`;

function url(path: string): string {
  return `${env.controllers[0]?.url ?? ''}${path}`;
}

/** Waits out the re-wrap rate limits (burst 20 at 10/s per client, 40 at 20/s overall) so a test starts with full buckets. */
const refill = (): Promise<void> => new Promise((r) => setTimeout(r, 2500));

async function rewrap(body: string | Buffer): Promise<{ status: number; text: string }> {
  const res = await fetch(url('/v1/rewrap'), { method: 'POST', body, headers: { 'content-type': 'application/yaml' } });
  return { status: res.status, text: await res.text() };
}

/** Every line of the base64 body of the key Secrets' private keys: none may appear in a response. */
async function privateKeyLines(): Promise<string[]> {
  const list = await kubeConfig().makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: env.controllerNamespace, labelSelector: 'sealbox.dev/sealing-key=true' });
  const pems = list.items.map((s) => Buffer.from(s.data?.['tls.key'] ?? '', 'base64').toString('utf8'));
  expect(pems.length).toBeGreaterThan(0);
  return pems.flatMap((p) => p.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')));
}

function expectNoKeyMaterial(what: string, text: string, keyLines: readonly string[]): void {
  expect(text, what).not.toContain('PRIVATE KEY');
  for (const l of keyLines) expect(text.includes(l), `${what} holds a line of a private key`).toBe(false);
  expect(text.includes(MARKER), `${what} holds a plaintext`).toBe(false);
  expect(text.includes(Buffer.from(MARKER).toString('base64').slice(0, 20)), `${what} holds a base64 plaintext`).toBe(false);
}

const edited = (s: SealedObject, edit: (x: SealedObject) => void): string => {
  const copy = structuredClone(s);
  edit(copy);
  return JSON.stringify(copy);
};

describe('the controller HTTP endpoints', () => {
  it('refuse a request body over 2 MiB with 413 and keep serving', async () => {
    await refill();
    const big = Buffer.alloc(2 * 1024 * 1024 + 1, 'a');
    const r = await rewrap(big);
    expect(r.status).toBe(413);
    expect(r.text).toContain('body larger than');
    expect((await fetch(url('/healthz'))).status).toBe(200);
  });

  it('rate-limit the re-wrap endpoint: exactly a client\'s burst of 20 passes, the next gets 429, and it accepts again once the burst has drained', async () => {
    await refill();
    // One request at a time until the first 429. The bucket refills 10 tokens
    // a second while this runs, so a slow run may see one more pass per 100 ms.
    const statuses: number[] = [];
    const started = performance.now();
    while (statuses.length < 100 && !statuses.includes(429)) statuses.push((await rewrap('kind: ConfigMap\n')).status);
    const refilled = Math.floor(((performance.now() - started) / 1000) * 10);
    const passed = statuses.filter((s) => s === 400).length;
    expect(statuses.slice(0, 20), 'the burst is served').toEqual(Array<number>(20).fill(400));
    expect(statuses.at(-1)).toBe(429);
    expect(passed, `statuses: ${statuses.join(',')}; ${String(refilled)} tokens came back meanwhile`).toBeLessThanOrEqual(20 + refilled);
    await refill();
    const statusesAtOnce = await Promise.all(Array.from({ length: 80 }, () => rewrap('kind: ConfigMap\n').then((r) => r.status)));
    expect(statusesAtOnce.filter((s) => s === 429).length, `statuses: ${statusesAtOnce.join(',')}`).toBeGreaterThan(0);
    await refill();
    expect((await rewrap('kind: ConfigMap\n')).status).toBe(400);
  });

  it('refuse to re-wrap what the controller cannot unseal with 422 and the specific code, never echoing plaintext', async () => {
    await refill();
    const ns = env.namespace;
    const cert = await fetchCert(url(''));
    const good = await seal(cert, { name: 'db', namespace: ns, data: { password: MARKER } });
    const foreign = await generateSealingKey({ bits: 2048, commonName: 'another-cluster' });
    const cases = [
      { what: 'sealed for another cluster', body: JSON.stringify(await seal(foreign.certificatePem, { name: 'db', namespace: ns, data: { password: MARKER } })), code: 'NO_KEY' },
      { what: 'a wrapped key altered', body: edited(good, (s) => { const r = s.spec.dataKeys[0]?.recipients[0]; if (r) r.wrapped = Buffer.from(Buffer.from(r.wrapped, 'base64').map((b, i) => (i === 10 ? b ^ 1 : b))).toString('base64'); }), code: 'TAMPERED' },
      { what: 'a value altered', body: edited(good, (s) => { const [p, g, b] = (s.spec.encryptedData.password ?? '').split(':'); const bytes = Buffer.from(b ?? '', 'base64'); bytes[20] = (bytes[20] ?? 0) ^ 1; s.spec.encryptedData.password = `${p ?? ''}:${g ?? ''}:${bytes.toString('base64')}`; }), code: 'TAMPERED' },
      { what: 'moved to another namespace', body: edited(good, (s) => { s.metadata.namespace = 'elsewhere'; }), code: 'SCOPE' },
      { what: 'renamed', body: edited(good, (s) => { s.metadata.name = 'db2'; }), code: 'SCOPE' },
      { what: 'a value in bad base64', body: edited(good, (s) => { s.spec.encryptedData.password = 'sb1:0123456789abcdef:!!!!'; }), code: 'INPUT' },
      { what: 'a newer format', body: edited(good, (s) => { s.apiVersion = 'sealbox.dev/v2'; }), code: 'INPUT' },
    ];
    for (const c of cases) {
      const r = await rewrap(c.body);
      expect({ what: c.what, status: r.status }).toEqual({ what: c.what, status: 422 });
      expect({ what: c.what, code: (JSON.parse(r.text) as { code: string }).code }).toEqual({ what: c.what, code: c.code });
      expectNoKeyMaterial(c.what, r.text, []);
    }
    expect((await rewrap('apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n')).status).toBe(400);
    expect((await rewrap(`${JSON.stringify(good)}\n---\n${JSON.stringify(good)}`)).status).toBe(400);
    expect((await fetch(url('/v1/rewrap'))).status).toBe(405);
    // and re-wraps what it can, returning only sealed data
    const ok = await rewrap(JSON.stringify(good));
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.text) as SealedObject).spec.encryptedData).toEqual(good.spec.encryptedData);
  });

  it('never return key material from any endpoint', async () => {
    await refill();
    const keyLines = await privateKeyLines();
    const cert = await fetchCert(url(''));
    const good = await seal(cert, { name: 'db', namespace: env.namespace, data: { password: MARKER } });
    const responses: [string, string][] = [];
    for (const path of ['/v1/cert.pem', '/v1/certs.pem', '/v1/keys', '/metrics', '/healthz', '/readyz', '/', '/v1/', '/v1/key.pem', '/debug/pprof', '/v1/rewrap']) {
      const res = await fetch(url(path));
      responses.push([`GET ${path} (${res.status})`, await res.text()]);
    }
    responses.push(['POST /v1/rewrap (valid)', (await rewrap(JSON.stringify(good))).text]);
    responses.push(['POST /v1/rewrap (foreign)', (await rewrap(JSON.stringify(await seal((await generateSealingKey({ bits: 2048, commonName: 'x' })).certificatePem, { name: 'db', namespace: env.namespace, data: { password: MARKER } })))).text]);
    const cm = await kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ namespace: env.controllerNamespace, name: 'sealbox-certs' });
    responses.push(['ConfigMap sealbox-certs', JSON.stringify(cm.data)]);
    expect(responses.some(([, t]) => t.includes('BEGIN CERTIFICATE'))).toBe(true);
    for (const [what, text] of responses) expectNoKeyMaterial(what, text, keyLines);
  });
});
