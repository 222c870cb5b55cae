// A small raw Kubernetes client for the benchmark's own admin work: bulk
// creates with bounded concurrency on keep-alive connections, watches that
// time-stamp events, and the API server's /metrics. The admin user is not
// rate limited (client certificate in system:masters).
import { Buffer } from 'node:buffer';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export class Kube {
  /** @param {string} kubeconfigPath admin kubeconfig with embedded certificates */
  constructor(kubeconfigPath) {
    const kc = parse(readFileSync(kubeconfigPath, 'utf8'));
    const cluster = kc.clusters[0].cluster;
    const user = kc.users[0].user;
    const b64 = (s) => Buffer.from(s, 'base64');
    this.server = cluster.server;
    this.tls = { ca: b64(cluster['certificate-authority-data']), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) };
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 32, ...this.tls });
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {{ contentType?: string, ok?: number[] }} [o]
   * @returns {Promise<{ status: number, body: any, text: string }>}
   */
  req(method, path, body, o = {}) {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const r = https.request(new URL(path, this.server), {
        method, agent: this.agent, timeout: 60_000,
        headers: { accept: 'application/json', ...(data === undefined ? {} : { 'content-type': o.contentType ?? 'application/json', 'content-length': Buffer.byteLength(data) }) },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          const status = res.statusCode ?? 0;
          if (o.ok !== undefined && !o.ok.includes(status)) {
            reject(new Error(`${method} ${path}: HTTP ${status}: ${json?.message ?? text.slice(0, 300)}`));
            return;
          }
          resolve({ status, body: json, text });
        });
        res.on('error', reject);
      });
      r.on('timeout', () => r.destroy(new Error(`${method} ${path} timed out`)));
      r.on('error', reject);
      r.end(data);
    });
  }

  /** Runs `fn` over `items` with at most `concurrency` in flight. */
  static async pool(items, concurrency, fn) {
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  }

  /** Creates every object (POST to its collection), `concurrency` at a time. */
  async createAll(objects, collectionPath, concurrency = 16) {
    await Kube.pool(objects, concurrency, async (obj) => {
      await this.req('POST', collectionPath(obj), obj, { ok: [201, 409] });
    });
  }

  /**
   * Watches `path` (a collection, with query) from its current state: lists
   * first, then watches from that resourceVersion, re-watching when the
   * server ends the stream. Calls onEvent(type, object, hrtimeMs) per event;
   * returns the initial items and a stop function.
   */
  async watch(path, onEvent) {
    const sep = path.includes('?') ? '&' : '?';
    const list = await this.req('GET', path, undefined, { ok: [200] });
    let rv = list.body.metadata.resourceVersion;
    let stopped = false;
    let current;
    const open = () => {
      if (stopped) return;
      const url = new URL(`${path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=3600&resourceVersion=${rv}`, this.server);
      current = https.get(url, { ...this.tls, agent: false }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          const now = performance.now();
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() === '') continue;
            const ev = JSON.parse(line);
            if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'ERROR') continue; // 410 Gone would need a relist; not expected within a run
            onEvent(ev.type, ev.object, now);
          }
        });
        res.on('end', () => setTimeout(open, 10));
        res.on('error', () => setTimeout(open, 100));
      });
      current.on('error', () => { if (!stopped) setTimeout(open, 100); });
    };
    open();
    return { items: list.body.items, stop: () => { stopped = true; current?.destroy(); } };
  }

  /** apiserver_request_total from /metrics, as { "VERB resource[/sub]": count }. */
  async requestCounts() {
    const { text } = await this.req('GET', '/metrics', undefined, { ok: [200] });
    const out = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
      out[key] = (out[key] ?? 0) + value;
    }
    return out;
  }

  close() {
    this.agent.destroy();
  }
}

/** Differences b - a of two requestCounts() snapshots, non-zero only. */
export function diffCounts(a, b) {
  const out = {};
  for (const [k, v] of Object.entries(b)) {
    const d = v - (a[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY', 'DELETECOLLECTION']);

/** Sums a diff over the given resources: { reads, writes, byKey }. */
export function summarizeRequests(diff, resources) {
  let reads = 0;
  let writes = 0;
  const byKey = {};
  for (const [k, v] of Object.entries(diff)) {
    const [verb, res] = k.split(' ');
    if (!resources.some((r) => res === r || res.startsWith(`${r}/`))) continue;
    if (verb === 'WATCH' || verb === 'WATCHLIST') continue; // long-running; counted when they end
    byKey[k] = v;
    if (WRITE_VERBS.has(verb)) writes += v;
    else reads += v;
  }
  return { reads, writes, byKey };
}
