/**
 * Reading request bodies before admission. Reading costs no CPU, so the
 * re-wrap endpoint reads a body under limits of its own (size, idle time,
 * overall deadline, bodies read at once per client and overall) and only
 * then asks for one of the few slots of the expensive part. A client that
 * sends its body slowly holds a reading place, never a re-wrap slot.
 */
import type { IncomingMessage } from 'node:http';

/** Limits of body reading. */
export interface ReadLimits {
  /** Bodies being read at once, overall. */
  readonly concurrency: number;
  /** Bodies being read at once per client. */
  readonly perClientConcurrency: number;
  /** The whole body must arrive within this long. */
  readonly deadlineMs: number;
  /** A body that sends nothing for this long is dropped (a minimum byte rate). */
  readonly idleMs: number;
  /** Largest body accepted. */
  readonly maxBytes: number;
}

/** What reading a body gave: its text, or why it was dropped (the connection is then closed). */
export type BodyResult = { readonly text: string } | 'large' | 'slow';

/** Reads the body as text within `l`'s size cap, idle time and deadline. */
export function readBody(req: IncomingMessage, l: ReadLimits): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (v: BodyResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(idle);
      resolve(v);
    };
    const slow = (): void => {
      finish('slow');
      req.destroy();
    };
    const deadline = setTimeout(slow, l.deadlineMs);
    let idle = setTimeout(slow, l.idleMs);
    req.on('data', (chunk: Buffer) => {
      clearTimeout(idle);
      idle = setTimeout(slow, l.idleMs);
      size += chunk.length;
      if (size > l.maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        finish('large');
      } else chunks.push(chunk);
    });
    req.on('end', () => { finish({ text: Buffer.concat(chunks).toString('utf8') }); });
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(idle);
      reject(err);
    });
  });
}
