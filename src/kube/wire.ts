/**
 * A small HTTP/1.1 client over keep-alive TLS connections, for the
 * controller's hot writes only (src/kube/transport.ts): one request at a time
 * per connection, the request written in one piece, the reply read with its
 * Content-Length or chunked framing.
 *
 * Why not node:https: at a cold start each resource costs three writes, and
 * node's HTTP client spent ~0.5 ms of CPU on each on this project's 2-core
 * machine (request and reply objects, header validation, the agent's socket
 * bookkeeping) against ~0.2 ms for the same bytes written and parsed here
 * (docs/BENCHMARKS.md, "CPU floor"). Anything unusual (a proxy, plain HTTP)
 * stays on node:https.
 */
import * as tls from 'node:tls';

/** A reply: status, headers (lowercase names) and body bytes. */
export interface WireReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Where a WirePool connects: host, port and the TLS options of the pooled https.Agent. */
export interface WireTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: Readonly<tls.ConnectionOptions>;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** Longest reply head accepted; the API server's are under 1 KiB. */
const MAX_HEAD = 64 * 1024;

/** Parses one reply from the bytes fed to it; `done` once it is complete. */
class ReplyParser {
  #buf: Buffer = Buffer.alloc(0);
  #status = 0;
  #headers: Record<string, string> | undefined;
  #length = -1; // Content-Length; -1: chunked or until close
  #chunked = false;
  readonly #body: Buffer[] = [];
  /** Bytes of body still expected in the current chunk (chunked), or -1 before a chunk-size line. */
  #chunkLeft = -1;
  #trailers = false;
  done = false;
  /** The server asked to close the connection after this reply (or framed it by closing). */
  closes = false;

  /** Feeds bytes; throws on a malformed reply. */
  feed(data: Buffer): void {
    this.#buf = this.#buf.length === 0 ? data : Buffer.concat([this.#buf, data]);
    if (this.#headers === undefined && !this.#head()) return;
    if (this.#chunked) this.#chunks();
    else if (this.#length >= 0) {
      if (this.#buf.length >= this.#length) {
        this.#body.push(this.#buf.subarray(0, this.#length));
        this.#buf = this.#buf.subarray(this.#length);
        this.done = true;
      }
    } else {
      this.#body.push(this.#buf);
      this.#buf = Buffer.alloc(0);
    }
  }

  /** The connection ended: completes a reply framed by the close, else throws. */
  end(): void {
    if (this.done) return;
    if (this.#headers === undefined || this.#chunked || this.#length >= 0) throw new Error('the connection closed before the reply was complete');
    this.done = true;
  }

  reply(): WireReply {
    return { status: this.#status, headers: this.#headers ?? {}, body: this.#body.length === 1 ? (this.#body[0] ?? Buffer.alloc(0)) : Buffer.concat(this.#body) };
  }

  /** Parses the status line and headers once they are all in; false until then. */
  #head(): boolean {
    const end = this.#buf.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#buf.length > MAX_HEAD) throw new Error('the reply head is too long');
      return false;
    }
    const lines = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
    this.#buf = this.#buf.subarray(end + HEAD_END.length);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (m === null) throw new Error('the reply is not HTTP/1.1');
    const status = Number(m[1]);
    if (status >= 100 && status < 200) return this.#buf.length > 0 ? this.#head() : false; // 100 Continue: the real head follows
    this.#status = status;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    this.#headers = headers;
    this.closes = /\bclose\b/i.test(headers.connection ?? '');
    this.#framing(headers);
    return true;
  }

  #framing(headers: Record<string, string>): void {
    if (this.#status === 204 || this.#status === 304) {
      this.#length = 0;
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      this.#chunked = true;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error('the reply has an invalid content-length');
      this.#length = n;
    } else {
      this.closes = true; // framed by the end of the connection
    }
    if (this.#length === 0) this.done = true;
  }

  /** Takes whole chunks (size line, data, CRLF) and then the trailers' end. */
  #chunks(): void {
    while (!this.done) {
      if (this.#trailers) {
        const end = this.#buf.indexOf(CRLF);
        if (end < 0) return;
        this.#buf = this.#buf.subarray(end + CRLF.length);
        if (end === 0) this.done = true; // the empty line after the last chunk
        continue;
      }
      if (this.#chunkLeft < 0) {
        const end = this.#buf.indexOf(CRLF);
        if (end < 0) return;
        const size = Number.parseInt(this.#buf.subarray(0, end).toString('latin1').split(';')[0] ?? '', 16);
        if (!Number.isSafeInteger(size) || size < 0) throw new Error('the reply has an invalid chunk size');
        this.#buf = this.#buf.subarray(end + CRLF.length);
        if (size === 0) this.#trailers = true;
        else this.#chunkLeft = size;
        continue;
      }
      if (this.#buf.length < this.#chunkLeft + CRLF.length) return;
      this.#body.push(this.#buf.subarray(0, this.#chunkLeft));
      this.#buf = this.#buf.subarray(this.#chunkLeft + CRLF.length);
      this.#chunkLeft = -1;
    }
  }
}

/** The values of one header as node:http takes them: a string, a number, or a list of those. */
function headerValues(v: unknown): string[] {
  const list: unknown[] = Array.isArray(v) ? v : [v];
  return list.flatMap((x) => (typeof x === 'string' || typeof x === 'number' ? [String(x)] : []));
}

/** One request waiting for its reply on a connection. */
interface Pending {
  readonly parser: ReplyParser;
  readonly resolve: (r: WireReply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One keep-alive connection. Its listeners are set once: bytes that come
 * while no request waits (or after the server closed it) retire it.
 */
class Connection {
  readonly socket: tls.TLSSocket;
  #pending: Pending | undefined;
  /** False once it failed, closed or the server asked to close it. */
  reusable = true;
  readonly #release: (c: Connection) => void;

  constructor(socket: tls.TLSSocket, release: (c: Connection) => void) {
    this.socket = socket;
    this.#release = release;
    socket.on('data', (d: Buffer) => { this.#data(d); });
    socket.on('error', (err: Error) => { this.#fail(err); });
    socket.on('close', () => { this.#closed(); });
    socket.on('end', () => { this.reusable = false; });
  }

  /** Writes one request and resolves with its reply. */
  send(bytes: string, parser: ReplyParser, timeoutMs: number): Promise<WireReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#fail(new Error('no answer within the request timeout')); }, timeoutMs);
      this.#pending = { parser, resolve, reject, timer };
      this.socket.write(bytes);
    });
  }

  #data(d: Buffer): void {
    const p = this.#pending;
    if (p === undefined) {
      this.#fail(new Error('bytes arrived on an idle connection'));
      return;
    }
    try {
      p.parser.feed(d);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (p.parser.done) this.#finish(p);
  }

  #finish(p: Pending): void {
    clearTimeout(p.timer);
    this.#pending = undefined;
    if (p.parser.closes) this.reusable = false;
    if (this.reusable && !this.socket.destroyed) this.#release(this);
    else this.socket.destroy();
    p.resolve(p.parser.reply());
  }

  #closed(): void {
    this.reusable = false;
    const p = this.#pending;
    if (p === undefined) return;
    try {
      p.parser.end();
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    this.#finish(p);
  }

  #fail(err: Error): void {
    this.reusable = false;
    this.socket.destroy();
    const p = this.#pending;
    this.#pending = undefined;
    if (p === undefined) return;
    clearTimeout(p.timer);
    p.reject(err);
  }
}

/**
 * Keep-alive TLS connections to one server, used one request at a time; an
 * idle connection the server closes is dropped, a failed one is never reused.
 */
export class WirePool {
  readonly #target: WireTarget;
  #idle: Connection[] = [];
  readonly #hostHeader: string;

  constructor(target: WireTarget) {
    this.#target = target;
    this.#hostHeader = target.port === 443 ? target.host : `${target.host}:${String(target.port)}`;
  }

  /**
   * Sends one request (`headers` without Host and Content-Length, which are
   * added) and resolves with the reply; rejects with an Error when the
   * connection fails, closes before the reply is complete, or no reply has
   * come within `timeoutMs`.
   */
  async request(method: string, path: string, headers: Readonly<Record<string, unknown>>, body: string, timeoutMs: number): Promise<WireReply> {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      for (const value of headerValues(v)) {
        if (/[\r\n\0]/.test(k) || /[\r\n\0]/.test(value)) throw new Error(`the request header ${k} holds a line break`);
        head += `${k}: ${value}\r\n`;
      }
    }
    const conn = this.#take() ?? (await this.#connect(timeoutMs));
    return conn.send(`${head}content-length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`, new ReplyParser(), timeoutMs);
  }

  /** Closes every idle connection. */
  close(): void {
    for (const c of this.#idle.splice(0)) c.socket.destroy();
  }

  /** The most recently used idle connection that is still open. */
  #take(): Connection | undefined {
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      if (c.reusable && !c.socket.destroyed) return c;
    }
    return undefined;
  }

  #connect(timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ ...this.#target.tls, host: this.#target.host, port: this.#target.port });
      const timer = setTimeout(() => { socket.destroy(new Error('no connection within the request timeout')); }, timeoutMs);
      const failed = (err: Error): void => { clearTimeout(timer); reject(err); };
      socket.once('error', failed);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', failed);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        resolve(new Connection(socket, (c) => { this.#idle.push(c); }));
      });
    });
  }
}
