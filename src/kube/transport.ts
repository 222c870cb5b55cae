/**
 * Plain JSON requests to the API server for the controller's hot writes
 * (Secret create/replace, status patch, Event create) and its GET of a
 * sealed resource before an unseal, and the pool of
 * keep-alive agents they share with client-node's calls (config.ts).
 *
 * client-node sends every request through its ObjectSerializer (a walk of the
 * type map for the body, and again for the reply) and node-fetch; at a cold
 * start of thousands of resources that was a third of the controller's CPU
 * beyond the RSA operations (docs/BENCHMARKS.md, "CPU floor"). These writes
 * need neither: their bodies are plain JSON already, and the reconciler uses
 * nothing of the reply.
 */
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';

/** A string that identifies one TLS option (CA, certificate, key, ...) of an agent. */
function tlsOptionId(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(tlsOptionId).join('\u0001');
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return v === undefined ? '' : JSON.stringify(v);
}

/**
 * One keep-alive https.Agent per distinct TLS identity (CA, client
 * certificate and key, verification, server name): normally just one, so
 * every request of the process reuses the same few connections.
 */
export class AgentPool {
  readonly #agents = new Map<string, https.Agent>();

  /**
   * The pooled keep-alive agent with the TLS options of `agent`, or `agent`
   * itself when it is not a plain https.Agent (a proxy agent is left alone).
   */
  shared(agent: unknown): unknown {
    if (!(agent instanceof https.Agent) || agent.constructor !== https.Agent) return agent;
    const o = agent.options;
    const id = [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(tlsOptionId).join('\0');
    let shared = this.#agents.get(id);
    if (shared === undefined) {
      shared = new https.Agent({ ...o, keepAlive: true });
      this.#agents.set(id, shared);
    }
    return shared;
  }
}

/** Longest wait for an answer to one request. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * How long credentials applied from the kubeconfig are reused. Applying them
 * builds an https.Agent, decodes the CA and client certificate and may read
 * files: a few percent of the controller's CPU at a cold start when done per
 * request. A rotated token or exec credential is still picked up within a
 * second (client-node itself re-reads a token file only every minute).
 */
export const CREDENTIALS_TTL_MS = 1000;

/** Request options with the kubeconfig's credentials applied, and when they were. */
interface Credentials {
  readonly opts: Readonly<https.RequestOptions>;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly at: number;
}

/** What a caller wants of a 2xx reply: its text, or nothing (the body is drained unread). */
export type ReplyUse = 'text' | 'none';

/**
 * Sends JSON requests with the kubeconfig's credentials (re-applied at least
 * every CREDENTIALS_TTL_MS, so a rotated token or exec credential is picked
 * up as with client-node) over the pool's keep-alive agents.
 */
export class JsonTransport {
  readonly #kc: k8s.KubeConfig;
  readonly #server: string;
  readonly #agents: AgentPool;
  #credentials: Promise<Credentials> | undefined;

  constructor(kc: k8s.KubeConfig, server: string, agents: AgentPool) {
    this.#kc = kc;
    this.#server = server;
    this.#agents = agents;
  }

  /**
   * Sends `body` (JSON-encoded here) to `path` and resolves with the reply's
   * text when the status is 2xx ('' when `reply` is 'none'). Rejects with
   * k8s.ApiException (the status and the API server's Status body)
   * otherwise, and with an Error when the credentials cannot be had, the
   * server cannot be reached or does not answer within a minute.
   */
  async send(method: 'POST' | 'PUT' | 'PATCH', path: string, body: unknown, contentType = 'application/json', reply: ReplyUse = 'text'): Promise<string> {
    return this.#exchange(method, path, { 'content-type': contentType }, JSON.stringify(body), reply);
  }

  /**
   * GETs `path` and resolves with the reply's text (2xx); rejects as send()
   * does (k8s.ApiException with the status, e.g. 404, for anything else).
   */
  get(path: string): Promise<string> {
    return this.#exchange('GET', path, {}, undefined, 'text');
  }

  /** One request with the applied credentials; the reply's text on 2xx, k8s.ApiException otherwise. */
  async #exchange(method: string, path: string, headers: Record<string, string>, body: string | undefined, reply: ReplyUse): Promise<string> {
    const c = await this.#applied();
    const opts: https.RequestOptions = { ...c.opts, method, headers: { ...c.headers, ...headers, accept: 'application/json' } };
    const res = await request(new URL(path, this.#server), opts, body, reply);
    if (res.status >= 200 && res.status < 300) return res.body;
    throw new k8s.ApiException(res.status, `HTTP-Code: ${String(res.status)}`, res.body, res.headers);
  }

  /** The credentials, applied again once they are older than CREDENTIALS_TTL_MS; a failure is not kept. */
  async #applied(): Promise<Credentials> {
    const now = Date.now();
    const current = this.#credentials;
    if (current !== undefined) {
      try {
        const c = await current;
        if (now - c.at < CREDENTIALS_TTL_MS) return c;
      } catch {
        // applied again below
      }
      // Another request applied them again meanwhile: one application serves all.
      if (this.#credentials !== current && this.#credentials !== undefined) return this.#credentials;
    }
    return this.#apply(now);
  }

  #apply(now: number): Promise<Credentials> {
    const fresh = (async (): Promise<Credentials> => {
      const opts: https.RequestOptions = { headers: {} };
      await this.#kc.applyToHTTPSOptions(opts);
      opts.agent = this.#agents.shared(opts.agent) as https.Agent;
      const headers = { ...opts.headers };
      delete opts.headers;
      return { opts, headers, at: now };
    })();
    this.#credentials = fresh;
    return fresh;
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

function request(url: URL, opts: https.RequestOptions, body: string | undefined, use: ReplyUse): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      // A 2xx reply nobody reads is drained, not copied and decoded.
      if (use === 'none' && status >= 200 && status < 300) res.resume();
      else res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
        resolve({ status, body: chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8'), headers });
      });
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer within a minute')));
    req.on('error', reject);
    req.end(body);
  });
}
