// Tens of thousands of sealed resources for the scale test: values derived
// from a per-run seed (so nothing needs to be kept to check them), sealed
// in-process one resource at a time (each with its own data key, so the
// controller cannot unwrap once and reuse: one RSA operation per resource, as
// in a real cluster), created through the API server on keep-alive
// connections with bounded concurrency, and read back in pages.
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { sealSecret } from '../../src/format/seal.js';
import { sealedManifest } from '../../src/format/sealed.js';
import type { CertRecipient } from '../../src/keys/cert.js';
import { pool } from '../chaos/tenant.js';

/** The label every resource of the set carries (outside sealbox.dev/, which templates may not use). */
export const SET_LABEL = 'scale.example.com/set';

/**
 * The five values of resource `namespace/name` (the bench's shapes and sizes:
 * a user name, a password, a URL holding both, an API key, a signing secret),
 * derived from `seed`, so a Secret holding another resource's values differs.
 */
export function expectedData(seed: string, namespace: string, name: string): Record<string, string> {
  const h = (k: string, n: number): string => createHmac('sha256', seed).update(`${namespace}/${name}/${k}`).digest('base64url').repeat(2).slice(0, n);
  const user = `app-${name}`;
  const password = h('password', 32);
  return {
    username: user,
    password,
    'database-url': `postgres://${user}:${password}@db.${namespace}.svc:5432/app?sslmode=require`,
    'api-key': h('api-key', 40),
    'signing-secret': h('signing-secret', 64),
  };
}

/** Seals resource `namespace/name` with its expected values for `recipient`; returns the manifest. */
export async function sealOne(recipient: CertRecipient, seed: string, namespace: string, name: string): Promise<Record<string, unknown>> {
  const data = expectedData(seed, namespace, name);
  const sealed = await sealSecret({
    name, namespace, type: 'Opaque', labels: { [SET_LABEL]: 'scale' }, annotations: {},
    data: new Map(Object.entries(data).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))])),
  }, { scope: 'strict', wrappers: [recipient] });
  const manifest = sealedManifest(sealed);
  // the template's labels go to the Secret; the resource itself gets the label too, to list the set
  const metadata = manifest.metadata as Record<string, unknown>;
  manifest.metadata = { ...metadata, labels: { [SET_LABEL]: 'scale' } };
  return manifest;
}

/** A minimal admin client for bulk work: one keep-alive agent, JSON in and out. */
export class BulkApi {
  readonly #server: string;
  readonly #agent: https.Agent;

  /** @param kc an admin KubeConfig with embedded client certificate data */
  constructor(kc: k8s.KubeConfig, maxSockets = 32) {
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (cluster === null || user === null) throw new Error('kubeconfig has no current cluster or user');
    const b64 = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : Buffer.from(s, 'base64'));
    this.#server = cluster.server;
    this.#agent = new https.Agent({ keepAlive: true, maxSockets, ca: b64(cluster.caData), cert: b64(user.certData), key: b64(user.keyData) });
  }

  /**
   * Sends one request, again (up to 5 times) after a dropped connection or a
   * 429/5xx; resolves with the status and parsed body. Only for requests
   * that may be repeated: reads, and creates that accept 409.
   * @throws {Error} on a status outside `ok`, naming the method and path
   */
  async request(method: string, path: string, body?: unknown, ok: readonly number[] = [200, 201]): Promise<{ status: number; body: unknown }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(method, path, body, ok);
      } catch (err) {
        const transient = /socket hang up|ECONNRESET|EPIPE|timed out|HTTP (429|5\d\d)/.test(err instanceof Error ? err.message : '');
        if (!transient || attempt >= 5) throw err;
        await sleep(200 * attempt);
      }
    }
  }

  #once(method: string, path: string, body: unknown, ok: readonly number[]): Promise<{ status: number; body: unknown }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      const req = https.request(new URL(path, this.#server), { method, agent: this.#agent, timeout: 120_000, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (!ok.includes(status)) reject(new Error(`${method} ${path}: HTTP ${status}: ${text.slice(0, 300)}`));
          else resolve({ status, body: text === '' ? undefined : JSON.parse(text) as unknown });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /**
   * Creates `count` objects, `concurrency` at a time: `make(i)` returns the
   * i-th object and the path of its collection. Each is made just before it
   * is sent, so making (sealing) overlaps sending and no more than
   * `concurrency` objects are in memory. 409 counts as done, so a create
   * repeated after a dropped connection (a keep-alive socket the server had
   * closed) is harmless. Field validation is off (`fieldValidation=Ignore`):
   * the objects are ours, and the API server's strict decoding of 40,000 of
   * them is CPU the test does not need.
   */
  async createMany(count: number, make: (i: number) => Promise<{ collection: string; obj: Record<string, unknown> }>, concurrency = 32): Promise<void> {
    await pool(Array.from({ length: count }, (_, i) => i), concurrency, async (i) => {
      const { collection, obj } = await make(i);
      await this.request('POST', `${collection}?fieldValidation=Ignore`, obj, [201, 409]);
    });
  }

  /** Calls `each` for every item of a (cluster-wide) list, read in pages of `limit`. */
  async forEachListed(path: string, each: (item: unknown) => void, limit = 500): Promise<void> {
    const sep = path.includes('?') ? '&' : '?';
    let next = '';
    do {
      const page = (await this.request('GET', `${path}${sep}limit=${limit}${next === '' ? '' : `&continue=${encodeURIComponent(next)}`}`)).body as { items: unknown[]; metadata: { continue?: string } };
      for (const item of page.items) each(item);
      next = page.metadata.continue ?? '';
    } while (next !== '');
  }

  close(): void {
    this.#agent.destroy();
  }
}
