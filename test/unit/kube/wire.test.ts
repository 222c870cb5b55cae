// The small HTTP/1.1 client of the controller's hot writes (src/kube/wire.ts)
// against a local node:https server: both reply framings, keep-alive reuse,
// a connection the server closes, and the ways a request fails.
import type { AddressInfo, Socket } from 'node:net';
import * as https from 'node:https';
import type * as http from 'node:http';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSealingKey } from '../../../src/keys/cert-gen.js';
import { WirePool } from '../../../src/kube/wire.js';

let tlsKey: { key: string; cert: string };
let otherCert: string;
beforeAll(async () => {
  const k = await generateSealingKey({ bits: 2048, commonName: 'localhost' });
  tlsKey = { key: k.privateKeyPem, cert: k.certificatePem };
  otherCert = (await generateSealingKey({ bits: 2048, commonName: 'localhost' })).certificatePem;
}, 60_000);

interface Server { port: number; connections: number; requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[]; server: https.Server }
const servers: https.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A local https server answering with `handler` once each request's body is in. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<Server> {
  const s: Server = { port: 0, connections: 0, requests: [], server: https.createServer(tlsKey) };
  s.server.on('secureConnection', () => { s.connections++; });
  s.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      s.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  s.port = (s.server.address() as AddressInfo).port;
  servers.push(s.server);
  return s;
}

const pool = (port: number, tls: object = { rejectUnauthorized: false }): WirePool => new WirePool({ host: '127.0.0.1', port, tls });
const text = (b: Buffer): string => b.toString('utf8');

describe('WirePool', () => {
  it('reads replies framed by content-length and in chunks, sends the headers and body, and reuses one connection', async () => {
    const s = await serve((req, res, body) => {
      if (req.url === '/length') res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'X-Audit': 'a' }).end(body);
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        setTimeout(() => { res.end('"é"}'); }, 20);
      }
    });
    const p = pool(s.port);
    const a = await p.request('POST', '/length', { authorization: 'Bearer t', 'content-type': 'application/json' }, '{"x":"é"}', 5000);
    expect([a.status, text(a.body), a.headers['x-audit']]).toEqual([201, '{"x":"é"}', 'a']);
    const b = await p.request('PATCH', '/chunked?q=1', { accept: 'application/json' }, '{}', 5000);
    expect([b.status, text(b.body), b.headers['transfer-encoding']]).toEqual([200, '{"a":"é"}', 'chunked']);
    expect(s.requests.map((r) => [r.method, r.url, r.headers.host, r.headers['content-length']])).toEqual([
      ['POST', '/length', `127.0.0.1:${String(s.port)}`, String(Buffer.byteLength('{"x":"é"}'))],
      ['PATCH', '/chunked?q=1', `127.0.0.1:${String(s.port)}`, '2'],
    ]);
    expect(s.requests[0]?.headers.authorization).toBe('Bearer t');
    expect(s.connections).toBe(1);
    p.close();
  });

  it('opens a connection per concurrent request and keeps them for later ones', async () => {
    const s = await serve((_req, res) => { setTimeout(() => res.end('ok'), 30); });
    const p = pool(s.port);
    const replies = await Promise.all([1, 2, 3].map(() => p.request('PUT', '/', {}, 'x', 5000)));
    expect(replies.map((r) => text(r.body))).toEqual(['ok', 'ok', 'ok']);
    await Promise.all([1, 2, 3].map(() => p.request('PUT', '/', {}, 'x', 5000)));
    expect(s.connections).toBe(3);
    p.close();
  });

  it('drops a connection the server closed while it was idle, and one whose reply said Connection: close', async () => {
    const s = await serve((req, res) => { res.writeHead(200, req.url === '/close' ? { connection: 'close' } : {}).end('ok'); });
    const p = pool(s.port);
    await p.request('POST', '/', {}, '', 5000);
    s.server.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 100));
    expect(text((await p.request('POST', '/', {}, '', 5000)).body)).toBe('ok');
    expect(s.connections).toBe(2);
    await p.request('POST', '/close', {}, '', 5000);
    await p.request('POST', '/', {}, '', 5000);
    expect(s.connections).toBe(3);
    p.close();
  });

  it('rejects when the connection closes before the reply is complete, and carries on with a new one', async () => {
    const s = await serve((req, res) => {
      if (req.url !== '/cut') {
        res.end('fine');
        return;
      }
      res.writeHead(200, { 'content-length': 100 });
      res.write('only ten b');
      setTimeout(() => (res.socket as Socket).destroy(), 20);
    });
    const p = pool(s.port);
    await expect(p.request('POST', '/cut', {}, '', 5000)).rejects.toThrow('the connection closed before the reply was complete');
    expect(text((await p.request('POST', '/', {}, '', 5000)).body)).toBe('fine');
    p.close();
  });

  it('rejects a request that gets no answer within its timeout', async () => {
    const s = await serve(() => undefined);
    const p = pool(s.port);
    await expect(p.request('POST', '/', {}, '', 200)).rejects.toThrow('no answer within the request timeout');
    p.close();
  });

  it('refuses a server whose certificate the given CA did not sign', async () => {
    const s = await serve((_req, res) => res.end('ok'));
    await expect(pool(s.port, { ca: otherCert, servername: 'localhost' }).request('POST', '/', {}, '', 5000)).rejects.toThrow();
    expect(text((await pool(s.port, { ca: tlsKey.cert, servername: 'localhost' }).request('POST', '/', {}, '', 5000)).body)).toBe('ok');
  });

  it('refuses a header value with a line break before sending anything', async () => {
    const s = await serve((_req, res) => res.end('ok'));
    await expect(pool(s.port).request('POST', '/', { authorization: 'Bearer t\r\nx-injected: 1' }, '', 5000)).rejects.toThrow('holds a line break');
    expect(s.requests).toEqual([]);
  });
});
