/** Failed API requests as SealboxError('KUBE'), with the HTTP status kept. */
import * as k8s from '@kubernetes/client-node';
import { SealboxError, truncate } from '../errors.js';

/** A failed API request: HTTP status (0 when the server was not reached). */
export class KubeError extends SealboxError {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super('KUBE', message, options);
    this.status = status;
  }
}

/** True when `err` is a KubeError with the given HTTP status. */
export function isKubeStatus(err: unknown, status: number): boolean {
  return err instanceof KubeError && err.status === status;
}

/** Returns the `message` of a Kubernetes Status body (JSON text or parsed), or ''. */
export function statusMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      return typeof parsed.message === 'string' ? parsed.message : '';
    } catch {
      return ''; // not JSON; keep the status only
    }
  }
  if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return '';
}

/**
 * Returns the KubeError for a failed request `what` (e.g. `get secret ns/n`):
 * the HTTP status and the API server's message, or status 0 when the server
 * was not reached.
 */
export function kubeErrorOf(err: unknown, what: string): KubeError {
  if (err instanceof k8s.ApiException) {
    const code = (err as k8s.ApiException<unknown>).code;
    const reason = statusMessage((err as k8s.ApiException<unknown>).body);
    return new KubeError(code, `${what}: HTTP ${code}${reason === '' ? '' : `: ${truncate(reason, 300)}`}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KubeError(0, `${what}: API server unreachable (${truncate(message, 200)})`);
}
