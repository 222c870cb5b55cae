/**
 * The controller's HTTP server: health, metrics, public certificates and the
 * re-wrap endpoint. Nothing it serves contains plaintext or private keys.
 * Request bodies are capped and the re-wrap endpoint is rate-limited.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyUnwrapper } from '../crypto/types.js';
import { isSealboxError } from '../errors.js';
import { rewrapSealed, unsealSealedSecret } from '../format/seal.js';
import { isSealedManifest, parseSealedSecret, sealedManifest } from '../format/sealed.js';
import { parseDocuments } from '../format/yaml.js';
import type { DataKeyCache } from '../crypto/key-cache.js';
import type { KeyManager } from './keys.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** Largest request body accepted (a sealed resource is at most ~1.4 MiB). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** Options of startServer. */
export interface ServerOptions {
  readonly listen: string;
  readonly keys: KeyManager;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly cache: DataKeyCache;
  readonly extraUnwrappers: () => readonly KeyUnwrapper[];
  /** True once this replica can do its job. */
  readonly ready: () => boolean;
  /** Re-wrap requests per second (token bucket, burst twice that). */
  readonly rewrapRate: number;
}

class Bucket {
  #tokens: number;
  #last = Date.now();
  constructor(readonly rate: number, readonly burst: number) {
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function send(res: ServerResponse, status: number, body: string, type?: string): void {
  res.writeHead(status, { 'content-type': type ?? 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function rewrap(body: string, o: ServerOptions): Promise<{ status: number; body: string }> {
  const newest = o.keys.newest;
  if (newest === undefined) return { status: 503, body: 'error: no sealing key yet\n' };
  try {
    const docs = parseDocuments(body, 'request');
    const doc = docs[0];
    if (docs.length !== 1 || doc === undefined || !isSealedManifest(doc.value)) {
      return { status: 400, body: 'error: send exactly one sealed resource\n' };
    }
    const sealed = parseSealedSecret(doc.value, 'sealed secret');
    const what = `sealed secret "${sealed.namespace}/${sealed.name}"`;
    const ours = new Set(o.keys.keys.map((k) => k.fingerprint));
    const unwrappers = [...o.keys.keys.map((k) => k.identity), ...o.extraUnwrappers()];
    const next = await rewrapSealed(sealed, unwrappers, {
      wrappers: [newest.recipient],
      drop: (s) => s.type === 'cert' && ours.has(s.id) && s.id !== newest.fingerprint,
      cache: o.cache,
    }, what);
    // Open every value before answering: a group that needed no new stanza
    // was not unwrapped above, so a tampered or unopenable resource would
    // otherwise come back as if it were fine. The plaintext never leaves here.
    const opened = await unsealSealedSecret(next, unwrappers, what, o.cache);
    for (const v of opened.data.values()) v.fill(0);
    o.keys.countRsaOps();
    return { status: 200, body: `${JSON.stringify(sealedManifest(next))}\n` };
  } catch (err) {
    o.keys.countRsaOps();
    if (isSealboxError(err)) return { status: 422, body: `${JSON.stringify({ error: err.message, code: err.code })}\n` };
    throw err;
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly type?: string | undefined;
}

const text = (status: number, body: string): Reply => ({ status, body });

async function handle(req: IncomingMessage, o: ServerOptions, bucket: Bucket): Promise<Reply> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const get = req.method === 'GET';
  if (get && path === '/healthz') return text(200, 'ok\n');
  if (get && path === '/readyz') return o.ready() ? text(200, 'ok\n') : text(503, 'not ready\n');
  if (get && path === '/metrics') {
    o.keys.countRsaOps();
    return { status: 200, body: await o.metrics.registry.metrics(), type: o.metrics.registry.contentType };
  }
  if (get && (path === '/v1/cert.pem' || path === '/v1/certs.pem')) {
    const keys = o.keys.keys;
    if (keys.length === 0) return text(503, 'error: no sealing key yet\n');
    const pem = path === '/v1/cert.pem' ? keys[0]?.certificatePem ?? '' : keys.map((k) => k.certificatePem).join('');
    return { status: 200, body: pem, type: 'application/x-pem-file' };
  }
  if (get && path === '/v1/keys') {
    const list = o.keys.keys.map((k, i) => ({ fingerprint: k.fingerprint, secret: k.name, createdAt: k.createdAt.toISOString(), newest: i === 0 }));
    return { status: 200, body: `${JSON.stringify(list, null, 2)}\n`, type: 'application/json' };
  }
  if (path === '/v1/rewrap') {
    if (req.method !== 'POST') return text(405, 'error: use POST\n');
    if (!bucket.take()) return text(429, 'error: too many re-wrap requests; retry shortly\n');
    const body = await readBody(req);
    if (body === undefined) return text(413, `error: body larger than ${MAX_BODY_BYTES} bytes\n`);
    const out = await rewrap(body, o);
    return { ...out, type: out.status === 200 || out.status === 422 ? 'application/json' : undefined };
  }
  return text(404, 'not found\n');
}

/** Starts the HTTP server; resolves with it once listening. */
export async function startServer(o: ServerOptions): Promise<Server> {
  const bucket = new Bucket(o.rewrapRate, o.rewrapRate * 2);
  const server = createServer((req, res) => {
    handle(req, o, bucket).then((reply) => {
      send(res, reply.status, reply.body, reply.type);
    }).catch((err: unknown) => {
      o.log.error({ path: req.url, err: err instanceof Error ? err.message : String(err) }, 'http handler failed');
      if (!res.headersSent) send(res, 500, 'error: internal error\n');
      else res.end();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  const [host, port] = splitListen(o.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  o.log.info({ address: `${addr.address}:${addr.port}` }, 'http server listening');
  return server;
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  const host = i <= 0 ? '0.0.0.0' : listen.slice(0, i);
  return [host, Number(listen.slice(i + 1))];
}
