// POST /v1/rewrap as a weapon (issue 11, items 4a, 4b and 6e): anyone who
// reaches the controller can call it. Bodies that are slow to parse, groups
// that list the cluster key a hundred times, and a crowd of clients must not
// stop /healthz nor cost more than one RSA operation per group; admission is
// per client as well as overall; Key Vault stanzas outside --kms-allow get no
// connection and a fixed-form error; and the cost of a re-wrap does not tell
// whether the same resource is already deployed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useController } from '../controller/harness.js';
import { metricValue, scrape } from '../controller/metrics.js';
import type { SealedObject } from '../controller/sealed.js';
import { createSealed, eventsFor, fetchCert, getSealed, readyCondition, seal, waitForReady } from '../controller/sealed.js';
import { eventually } from '../cluster/helpers.js';

// A TCP listener that records every connection: the address a hostile Key Vault stanza names.
const connections: Socket[] = [];
let trap: Server | undefined;
let trapPort = 0;
beforeAll(async () => {
  trap = createServer((s) => { connections.push(s); s.destroy(); });
  await new Promise<void>((r) => trap?.listen(0, '127.0.0.1', r));
  trapPort = (trap.address() as { port: number }).port;
});
afterAll(() => { trap?.close(); });

const CROWD = new URL('../controller/rewrap-crowd.mjs', import.meta.url).pathname;
const env = useController({ prefix: 'sec-rewrap', extraArgs: ['--kms-providers', 'azure', '--kms-timeout', '3s'] });
const url = (path: string): string => `${env.controllers[0]?.url ?? ''}${path}`;
const refill = (): Promise<void> => new Promise((r) => setTimeout(r, 2500));

async function rewrap(body: string, client?: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(client === undefined ? {} : { 'x-forwarded-for': client }) };
  const res = await fetch(url('/v1/rewrap'), { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

async function rsaOps(): Promise<number> {
  return metricValue(await scrape(url('')), 'sealbox_rsa_private_operations_total');
}

const edited = (s: SealedObject, edit: (x: SealedObject) => void): string => {
  const copy = structuredClone(s);
  edit(copy);
  return JSON.stringify(copy);
};

/** The resource with its one group listing the cluster stanza `n` times, each with `wrapped`. */
function copies(s: SealedObject, n: number, wrapped: string): string {
  return edited(s, (x) => {
    const g = x.spec.dataKeys[0];
    const r = g?.recipients[0];
    if (g === undefined || r === undefined) throw new Error('no stanza');
    g.recipients = Array.from({ length: n }, () => ({ ...r, wrapped }));
  });
}

describe('the re-wrap endpoint under attack', () => {
  it('spends one RSA operation on a group listing the cluster key 100 times, and none on a wrap of the wrong length', async () => {
    await refill();
    const good = await seal(await fetchCert(url('')), { name: 'db', namespace: env.namespace, data: { password: 'p4ssw0rd-rewrap' } });
    const cases: [string, string, number, number][] = [
      ['100 modulus-long copies', copies(good, 100, Buffer.alloc(256, 7).toString('base64')), 422, 1],
      ['100 copies of AA==', copies(good, 100, 'AA=='), 422, 0],
      ['100 copies of 512 bytes', copies(good, 100, Buffer.alloc(512, 7).toString('base64')), 422, 0],
      ['the genuine resource', JSON.stringify(good), 200, 1],
    ];
    for (const [what, body, status, ops] of cases) {
      const before = await rsaOps();
      const r = await rewrap(body);
      expect({ what, status: r.status, ops: (await rsaOps()) - before }).toEqual({ what, status, ops });
    }
  });

  it('keeps /healthz answering within 1 s while a crowd sends slow-to-parse bodies and costly groups', async () => {
    await refill();
    const good = await seal(await fetchCert(url('')), { name: 'db', namespace: env.namespace, data: { password: 'p4ssw0rd-crowd' } });
    const half = 1024 * 1024 - 8;
    const bodies = [
      '- a\n'.repeat(half / 2), // a 2 MiB flat YAML list: 9 s of synchronous parsing with the yaml library
      `${'['.repeat(half)}${']'.repeat(half)}`, // 1 Mi levels of JSON nesting
      `{${Array.from({ length: 60_000 }, (_, i) => `"k${String(i)}":0`).join(',')}}`, // many distinct keys
      copies(good, 100, Buffer.alloc(256, 7).toString('base64')), // last: the costly one
    ];
    const files = bodies.map((b, i) => {
      const f = join(env.dir, `crowd-${String(i)}.json`);
      writeFileSync(f, b);
      return f;
    });
    const before = await rsaOps();
    // The crowd runs in a process of its own: sending it must not slow this one, which measures.
    const crowd = spawn(process.execPath, [CROWD, url(''), '8', '12', ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    crowd.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<void>((r) => crowd.on('exit', () => { r(); }));
    const latencies: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 8000) {
      const t = performance.now();
      const res = await fetch(url('/healthz'), { signal: AbortSignal.timeout(5000) });
      latencies.push(performance.now() - t);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    await exited;
    const { statuses, admittedCostly } = JSON.parse(out) as { statuses: Record<string, number>; admittedCostly: number };
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number): number => Math.round(sorted[Math.floor(q * (sorted.length - 1))] ?? 0);
    const summary = `statuses ${JSON.stringify(statuses)}, /healthz latencies p50 ${String(at(0.5))} p95 ${String(at(0.95))} max ${String(at(1))} ms over ${String(sorted.length)} probes`;
    expect(at(1), summary).toBeLessThan(1000);
    expect(statuses['429'] ?? 0, summary).toBeGreaterThan(0);
    expect(admittedCostly, summary).toBeGreaterThan(0);
    expect((await rsaOps()) - before, summary).toBeLessThanOrEqual(admittedCostly);
  }, 60_000);

  it('reads bodies before admission, so clients sending bodies slowly do not shut out an honest re-wrap', async () => {
    await refill();
    const good = await seal(await fetchCert(url('')), { name: 'slow', namespace: env.namespace, data: { password: 'p4ssw0rd-slow' } });
    // Eight clients (twice the overall re-wrap slots) send headers and part of
    // a body, then trickle a byte now and then: they hold their connections.
    const held = Array.from({ length: 8 }, (_, i) => {
      const r = request(url('/v1/rewrap'), { method: 'POST', headers: { 'x-forwarded-for': `10.1.0.${String(i + 10)}`, 'content-length': '100000' } });
      r.on('error', () => undefined);
      r.write('{"apiVersion"');
      return r;
    });
    const trickle = setInterval(() => { for (const r of held) r.write(' '); }, 500);
    await new Promise((r) => setTimeout(r, 500));
    try {
      const t0 = Date.now();
      const honest = await rewrap(JSON.stringify(good), '10.1.0.1');
      expect(honest.status, honest.text).toBe(200);
      expect(Date.now() - t0).toBeLessThan(5000);
      // A client may have two bodies being read at once; its third waits.
      const third = request(url('/v1/rewrap'), { method: 'POST', headers: { 'x-forwarded-for': '10.1.0.10', 'content-length': '100000' } });
      third.on('error', () => undefined);
      third.write('{');
      await new Promise((r) => setTimeout(r, 300));
      const extra = await rewrap('{}', '10.1.0.10');
      third.destroy();
      expect(extra.status).toBe(429);
    } finally {
      clearInterval(trickle);
      for (const r of held) r.destroy();
    }
  }, 30_000);
});

describe('a sealed resource listing the cluster key 100 times', () => {
  it('costs the reconciler no RSA operation when the wraps have the wrong length', async () => {
    const good = await seal(await fetchCert(url('')), { name: 'copies', namespace: env.namespace, data: { password: 'p4ssw0rd-copies' } });
    const before = await rsaOps();
    await createSealed(env.namespace, JSON.parse(copies(good, 100, 'AA==')) as SealedObject);
    const c = await eventually('a status for copies', async () => readyCondition(await getSealed(env.namespace, 'copies')), 30_000);
    expect(c.reason).toBe('Tampered');
    expect((await rsaOps()) - before).toBe(0);
  });
});

describe('a sealed resource with more data-key groups than the controller unseals', () => {
  it('is refused with no RSA operation (re-attack: 1,000 valid groups cost 1,000 per apply)', async () => {
    const good = await seal(await fetchCert(url('')), { name: 'many-groups', namespace: env.namespace, data: { password: 'p4ssw0rd-many' } });
    const many = structuredClone(good);
    const g = many.spec.dataKeys[0];
    if (g === undefined) throw new Error('no group');
    many.spec.dataKeys = [g, ...Array.from({ length: 64 }, (_, i) => ({ ...g, group: (i + 1).toString(16).padStart(16, '0') }))];
    const before = await rsaOps();
    await createSealed(env.namespace, many);
    const c = await eventually('a status for many-groups', async () => readyCondition(await getSealed(env.namespace, 'many-groups')), 30_000);
    expect(c.reason).toBe('InvalidSealedSecret');
    expect(c.message).toContain('65 data-key groups');
    expect((await rsaOps()) - before).toBe(0);
  });
});

describe('the cost of a re-wrap', () => {
  it('is the same for a resource the controller has deployed and for one it has not, so /metrics tells nothing', async () => {
    await refill();
    const cert = await fetchCert(url(''));
    const deployed = await seal(cert, { name: 'deployed', namespace: env.namespace, data: { password: 'p4ssw0rd-deployed' } });
    const other = await seal(cert, { name: 'other', namespace: env.namespace, data: { password: 'p4ssw0rd-other' } });
    await createSealed(env.namespace, deployed);
    await waitForReady(env.namespace, 'deployed', 'True');
    const cost = async (s: SealedObject): Promise<number> => {
      const before = await rsaOps();
      expect((await rewrap(JSON.stringify(s))).status).toBe(200);
      return (await rsaOps()) - before;
    };
    expect({ deployed: await cost(deployed), other: await cost(other) }).toEqual({ deployed: 1, other: 1 });
  });
});

describe('key vault stanzas outside --kms-allow', () => {
  const hostile = (s: SealedObject): SealedObject => {
    const copy = structuredClone(s);
    const g = copy.spec.dataKeys[0];
    if (g === undefined) throw new Error('no group');
    g.recipients = [{ type: 'azure-kv', id: `https://127.0.0.1:${String(trapPort)}/keys/probe/0123456789abcdef`, wrapped: Buffer.alloc(256, 1).toString('base64') }];
    return copy;
  };

  it('are refused by the re-wrap endpoint with no connection and a fixed-form error', async () => {
    await refill();
    const s = hostile(await seal(await fetchCert(url('')), { name: 'probe', namespace: env.namespace, data: { password: 'p4ssw0rd-probe' } }));
    const r = await rewrap(JSON.stringify(s));
    expect(r.status).toBe(422);
    const body = JSON.parse(r.text) as { code: string; error: string };
    expect(body.code).toBe('NO_KEY');
    expect(body.error).toContain('not in the controller\'s --kms-allow list, so the controller did not call it');
    expect(body.error).not.toMatch(/ECONN|socket|refused|reset|timeout/i);
    expect(connections).toHaveLength(0);
  });

  it('are refused in the reconciler with no connection, and status says only why', async () => {
    const s = hostile(await seal(await fetchCert(url('')), { name: 'probe2', namespace: env.namespace, data: { password: 'p4ssw0rd-probe2' } }));
    await createSealed(env.namespace, s);
    const c = await eventually('a status for probe2', async () => readyCondition(await getSealed(env.namespace, 'probe2')), 30_000);
    expect(c.reason).toBe('NoKey');
    expect(c.message).toContain('not in the controller\'s --kms-allow list');
    expect(c.message).not.toMatch(/ECONN|socket|refused|reset|timeout/i);
    const events = await eventually('a warning event for probe2', async () => {
      const list = (await eventsFor(env.namespace, 'probe2')).filter((e) => e.type === 'Warning');
      return list.length > 0 ? list : undefined;
    }, 30_000);
    for (const e of events) {
      expect(e.message).toContain('not in the controller\'s --kms-allow list');
      expect(e.message).not.toMatch(/ECONN|socket|refused|reset|timeout/i);
    }
    expect(connections).toHaveLength(0);
  });
});
