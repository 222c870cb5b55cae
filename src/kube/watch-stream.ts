/**
 * One watch request, read line by line: each line of the response is one
 * event, parsed on its own and handed over before the next is read, so a
 * watch that streams a whole initial list never holds more than one object
 * of it (and waits while the handler's promise is pending).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type * as k8s from '@kubernetes/client-node';
import { clusterServer } from './config.js';
import { statusMessage } from './errors.js';

/** A watch event as the API server sends it. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Record<string, unknown>;
}

/** How a watch request ended. */
export type WatchEnd =
  /** The server closed the stream (a timeout, or after an ERROR event), or abort() was called. */
  | { readonly kind: 'closed' }
  /** The server refused the request: HTTP status and its Status message. */
  | { readonly kind: 'http'; readonly status: number; readonly message: string }
  /** The connection failed, or a line was not JSON. */
  | { readonly kind: 'failed'; readonly message: string }
  /** The kubeconfig's credentials could not be had (e.g. its exec plugin failed): nothing was sent. */
  | { readonly kind: 'credentials'; readonly message: string }
  /** Nothing arrived for `idleMs` while no event was being handled: closed here. */
  | { readonly kind: 'idle' };

/** A running watch request. */
export interface WatchStream {
  /** Resolves (never rejects) once the request is over. */
  readonly ended: Promise<WatchEnd>;
  /** Closes the request; `ended` resolves with `closed`. */
  abort(): void;
  /** Lets the watch be silent for as long as the server likes from now on (ends `idleMs`). */
  allowSilence(): void;
}

/** Longest error body read from a refused watch. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Opens `GET path?watch=true&…query` on the kubeconfig's cluster with its
 * credentials and calls `onEvent` for each event, awaiting it before the
 * next line is read. With `idleMs`, a watch that stays silent that long
 * while no event is being handled (the time onEvent takes does not count)
 * is closed and ends `idle`, until allowSilence().
 */
export function openWatch(kc: k8s.KubeConfig, path: string, query: Readonly<Record<string, string>>, onEvent: (e: WatchEvent) => void | Promise<void>, idleMs?: number): WatchStream {
  const aborter = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let idle = false;
  const arm = (): void => {
    clearTimeout(timer);
    if (idleMs !== undefined && !aborter.signal.aborted) timer = setTimeout(() => { idle = true; aborter.abort(); }, idleMs);
  };
  const handle = async (e: WatchEvent): Promise<void> => {
    clearTimeout(timer);
    await onEvent(e);
    arm();
  };
  arm();
  const ended = run(kc, path, query, handle, aborter.signal).catch((err: unknown): WatchEnd =>
    aborter.signal.aborted ? { kind: 'closed' } : { kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  return {
    ended: ended.then((end) => { clearTimeout(timer); return idle ? { kind: 'idle' } : end; }),
    abort: () => { clearTimeout(timer); aborter.abort(); },
    allowSilence: () => { clearTimeout(timer); idleMs = undefined; },
  };
}

async function run(kc: k8s.KubeConfig, path: string, query: Readonly<Record<string, string>>, onEvent: (e: WatchEvent) => void | Promise<void>, signal: AbortSignal): Promise<WatchEnd> {
  const url = new URL(path, clusterServer(kc));
  url.searchParams.set('watch', 'true');
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' }, signal };
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    return { kind: 'credentials', message: err instanceof Error ? err.message : String(err) };
  }
  const res = await request(url, opts);
  if (res.statusCode !== 200) return { kind: 'http', status: res.statusCode ?? 0, message: statusMessage(await readSome(res)) };
  await eachLine(res, async (line) => {
    if (signal.aborted) return;
    await onEvent(parseEvent(line));
  });
  return { kind: 'closed' };
}

function request(url: URL, opts: https.RequestOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'http:' ? http : https).request(url, opts, resolve);
    // a watch may be quiet for minutes; keep-alive probes notice a dead peer
    req.on('socket', (s) => { s.setKeepAlive(true, 30_000); });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Calls `fn` for each non-empty line of `res`, one at a time. Only each new
 * chunk is searched for a newline and a line is joined once, so a long line
 * costs time linear in its length: appending every chunk to the unfinished
 * line and splitting it again cost n²/2c (a tenant's 1 MiB Secret in 16 KiB
 * chunks: ~0.5 s of the event loop per update; found by attack17).
 */
export async function eachLine(res: AsyncIterable<Buffer>, fn: (line: string) => Promise<void>): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let parts: string[] = [];
  const flush = async (tail: string): Promise<void> => {
    parts.push(tail);
    const line = parts.join('');
    parts = [];
    if (line.trim() !== '') await fn(line);
  };
  for await (const chunk of res) {
    const text = decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      await flush(text.slice(start, nl));
      start = nl + 1;
    }
    if (start < text.length) parts.push(text.slice(start));
  }
  await flush(decoder.end());
}

async function readSome(res: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (body.length < MAX_ERROR_BODY) body += chunk.toString('utf8');
  }
  return body;
}

/** Parses one line; the error names no part of it (a Secret's values may be in it). */
function parseEvent(line: string): WatchEvent {
  try {
    return JSON.parse(line) as WatchEvent;
  } catch {
    throw new Error('a watch event was not valid JSON');
  }
}
