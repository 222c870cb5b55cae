/**
 * The controller's HTTP server: health, metrics, public certificates and the
 * re-wrap endpoint. Nothing it serves contains plaintext or private keys.
 * Request bodies are capped and read before admission (body.ts, admission.ts);
 * the re-wrap endpoint's work is bounded (rewrap.ts).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyUnwrapper } from '../crypto/types.js';
import { isSealboxError } from '../errors.js';
import type { GateLimits } from './admission.js';
import { ConcurrencyGate, RewrapGate, clientOf } from './admission.js';
import type { BodyResult, ReadLimits } from './body.js';
import { readBody } from './body.js';
import { statusMessage } from './hints.js';
import { compactWork } from './compact.js';
import { convertWork } from './convert.js';
import type { EndpointDeps, EndpointWork, LiveBitnami } from './endpoint.js';
import type { KeyManager } from './keys.js';
import { rotateWork, verifyWork } from './kubeseal-endpoints.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { MAX_BODY_BYTES, parseRewrapBody, rewrapRequest } from './rewrap.js';
import { validateWork } from './validate.js';

export { MAX_BODY_BYTES };

/** What the server reads of the sealing keys: a KeyManager, or in tests keys of their own. */
export type ServedKeys = Pick<KeyManager, 'keys' | 'newest' | 'countRsaOps'>;

/** Options of startServer. */
export interface ServerOptions {
  readonly listen: string;
  readonly keys: ServedKeys;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly extraUnwrappers: () => readonly KeyUnwrapper[];
  /** True once this replica can do its job. */
  readonly ready: () => boolean;
  /** Admission limits of the re-wrap endpoint (default DEFAULT_REWRAP_LIMITS). */
  readonly rewrapLimits?: GateLimits;
  /** Limits of reading re-wrap bodies (default DEFAULT_READ_LIMITS). */
  readonly readLimits?: ReadLimits;
  /** Also serve kubeseal's `/v1/verify` and `/v1/rotate` (`--sealed-secrets-compat`; kubeseal-endpoints.ts). */
  readonly sealedSecretsCompat?: boolean;
  /** In compatibility mode: reads live bitnami SealedSecrets for `/v1/convert` (KubeApi.getBitnami). */
  readonly liveBitnami?: LiveBitnami;
}

/** Re-wrap admission by default: 4 at once (1 per client), 20/s overall, 10/s per client. */
export const DEFAULT_REWRAP_LIMITS: GateLimits = { concurrency: 4, perClientConcurrency: 1, rate: 20, perClientRate: 10 };

function send(res: ServerResponse, status: number, body: string, type?: string): void {
  // A refused request's body is not read; closing the connection spares
  // draining it (up to 2 MiB per request) on the event loop.
  const retry = status === 429 ? { 'retry-after': '1', 'connection': 'close' } : status === 413 ? { 'connection': 'close' } : {};
  res.writeHead(status, { 'content-type': type ?? 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...retry });
  res.end(body);
}

/** Body reading by default: 32 bodies at once (2 per client), each within 10 s, none silent for 2 s. */
export const DEFAULT_READ_LIMITS: ReadLimits = { concurrency: 32, perClientConcurrency: 2, deadlineMs: 10_000, idleMs: 2_000, maxBytes: MAX_BODY_BYTES };

async function rewrap(body: string, o: EndpointDeps, cancelled: () => boolean): Promise<{ status: number; body: string }> {
  const newest = o.keys.newest;
  if (newest === undefined) return { status: 503, body: 'error: no sealing key yet\n' };
  try {
    const sealed = parseRewrapBody(body);
    if (sealed === undefined) return { status: 400, body: 'error: send exactly one sealed resource, as JSON\n' };
    return { status: 200, body: await rewrapRequest(sealed, { keys: o.keys.keys, newest, extraUnwrappers: o.extraUnwrappers(), cancelled }) };
  } catch (err) {
    if (isSealboxError(err)) return { status: 422, body: `${JSON.stringify({ error: statusMessage(err), code: err.code })}\n` };
    throw err;
  } finally {
    o.keys.countRsaOps();
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly type?: string | undefined;
}

const text = (status: number, body: string): Reply => ({ status, body });

/** The gates of the re-wrap endpoint: reading bodies, then the expensive part. */
interface Gates {
  readonly read: ConcurrencyGate;
  readonly work: RewrapGate;
}

/**
 * The body is read first, under limits of its own (reading costs no CPU), and
 * only then does the request ask for a re-wrap slot: a client sending its body
 * slowly holds a reading place, never a slot. The work stops when the client
 * goes away.
 */
async function rewrapRoute(req: IncomingMessage, o: ServerOptions, gates: Gates, work: EndpointWork): Promise<Reply> {
  const limits = o.readLimits ?? DEFAULT_READ_LIMITS;
  if (Number(req.headers['content-length'] ?? 0) > limits.maxBytes) return text(413, `error: body larger than ${String(limits.maxBytes)} bytes\n`);
  const client = clientOf(req.socket.remoteAddress, req.headers['x-forwarded-for']);
  const reading = gates.read.take(client);
  if (reading === undefined) return text(429, 'error: too many re-wrap requests being sent; retry shortly\n');
  let body: BodyResult;
  try {
    body = await readBody(req, limits);
  } finally {
    reading();
  }
  if (body === 'large') return text(413, `error: body larger than ${String(limits.maxBytes)} bytes\n`);
  if (body === 'slow') return text(408, `error: body not received within ${String(limits.deadlineMs / 1000)} s, or silent for ${String(limits.idleMs / 1000)} s\n`);
  const release = gates.work.admit(client);
  if (release === undefined) return text(429, 'error: too many re-wrap requests; retry shortly\n');
  try {
    const out = await work(body.text, o, () => req.socket.destroyed, (tokens) => gates.work.charge(client, tokens));
    return { ...out, type: out.type ?? (out.status === 200 || out.status === 409 || out.status === 422 ? 'application/json' : undefined) };
  } finally {
    release();
  }
}

/** The endpoints that take one sealed resource; they share the re-wrap gates (docs/SECURITY.md). */
const SEALED_ROUTES = new Map<string, EndpointWork>([['/v1/rewrap', rewrap], ['/v1/validate', validateWork], ['/v1/compact', compactWork], ['/v1/convert', convertWork]]);
/** kubeseal's endpoints, in compatibility mode only; they share the same gates. */
const KUBESEAL_ROUTES = new Map<string, EndpointWork>([['/v1/verify', verifyWork], ['/v1/rotate', rotateWork]]);

async function handle(req: IncomingMessage, o: ServerOptions, gates: Gates): Promise<Reply> {
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
  const work = SEALED_ROUTES.get(path) ?? (o.sealedSecretsCompat === true ? KUBESEAL_ROUTES.get(path) : undefined);
  if (work !== undefined) {
    if (req.method !== 'POST') return text(405, 'error: use POST\n');
    return rewrapRoute(req, o, gates, work);
  }
  return text(404, 'not found\n');
}

/** Starts the HTTP server; resolves with it once listening. */
export async function startServer(o: ServerOptions): Promise<Server> {
  const read = o.readLimits ?? DEFAULT_READ_LIMITS;
  const gates: Gates = { read: new ConcurrencyGate(read.concurrency, read.perClientConcurrency), work: new RewrapGate(o.rewrapLimits ?? DEFAULT_REWRAP_LIMITS) };
  const server = createServer((req, res) => {
    handle(req, o, gates).then((reply) => {
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
