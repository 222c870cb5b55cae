// A Git server on loopback that Flux's source-controller can clone from:
// Node's http server in front of `git http-backend` (CGI), serving the bare
// repositories under one folder read-only ("smart" HTTP, upload-pack only).
// Tests commit in a working clone and push to the bare repository by path.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { feedStdin } from '../helpers/child.js';

/** A running Git server. */
export interface GitServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Requests served so far, as `METHOD path?query`. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** Runs git with `args` in `cwd`; returns stdout. Throws with stderr on failure. */
export function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'sealbox test', GIT_AUTHOR_EMAIL: 'test@sealbox.invalid', GIT_COMMITTER_NAME: 'sealbox test', GIT_COMMITTER_EMAIL: 'test@sealbox.invalid', GIT_CONFIG_NOSYSTEM: '1' };
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd} failed: ${r.stderr}`);
  return r.stdout;
}

/** Creates bare repository `<root>/<name>.git` and a working clone `<root>/<name>`; returns the clone's path. */
export function createRepository(root: string, name: string): string {
  mkdirSync(root, { recursive: true });
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', `${name}.git`);
  git(root, 'clone', '--quiet', `${name}.git`, name);
  git(join(root, name), 'checkout', '--quiet', '-b', 'main');
  return join(root, name);
}

/** Commits every change in `clone` with `message` and pushes it to the bare repository; returns the new commit id. */
export function commitAndPush(clone: string, message: string): string {
  git(clone, 'add', '--all');
  git(clone, 'commit', '--quiet', '--allow-empty', '-m', message);
  git(clone, 'push', '--quiet', 'origin', 'main');
  return git(clone, 'rev-parse', 'HEAD').trim();
}

function cgiEnv(req: IncomingMessage, root: string, body: Buffer): NodeJS.ProcessEnv {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // the repositories belong to whoever runs the tests; never trust another owner's config
    GIT_CONFIG_NOSYSTEM: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: String(body.length),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
  };
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string') env[`HTTP_${k.toUpperCase().replace(/-/g, '_')}`] = v;
  }
  return env;
}

/** Writes a CGI answer (headers, blank line, body) as an HTTP response. */
function writeCgiOutput(out: Buffer, res: ServerResponse): void {
  let end = out.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) { end = out.indexOf('\n\n'); sep = 2; }
  if (end < 0) { res.writeHead(502).end('bad cgi output'); return; }
  let status = 200;
  for (const line of out.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else res.setHeader(name, value);
  }
  res.writeHead(status).end(out.subarray(end + sep));
}

function serve(root: string, req: IncomingMessage, res: ServerResponse, requests: string[]): void {
  requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const cgi = spawn('git', ['http-backend'], { env: cgiEnv(req, root, body), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    cgi.stdout.on('data', (c: Buffer) => out.push(c));
    cgi.stderr.on('data', (c: Buffer) => err.push(c));
    cgi.on('close', (code) => {
      if (code !== 0 && out.length === 0) res.writeHead(500).end(Buffer.concat(err));
      else writeCgiOutput(Buffer.concat(out), res);
    });
    // git http-backend may answer and exit before it reads the whole body
    feedStdin(cgi.stdin, body, (e) => { res.destroy(e); });
  });
}

/** Starts a Git server on 127.0.0.1 (a free port) for the bare repositories in `root`. */
export async function startGitServer(root: string): Promise<GitServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => { serve(root, req, res, requests); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}
