/**
 * What the cloud KMS providers share: a bound on concurrent calls, a time
 * limit per call, and errors that carry the service's reason but never a
 * request body (which would hold the data key).
 */

/** Runs tasks with at most a fixed number in flight. */
export interface Limiter {
  /** Runs `task` when a slot is free; returns or throws what `task` does. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/** Returns a limiter that lets at most `max` (≥ 1) tasks run at once, first come first served. */
export function createLimiter(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`limiter size must be a positive integer, got ${String(max)}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active < max) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve)); // the slot passes to us
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}

/** Default time limit of one KMS call, SDK retries included. */
export const DEFAULT_KMS_TIMEOUT_MS = 15_000;

/** Default number of concurrent calls per provider. */
export const DEFAULT_KMS_CONCURRENCY = 8;

/**
 * Runs `call` inside `limiter` with an abort signal that fires after
 * `timeoutMs`, counted from when the call gets its slot.
 */
export function limitedCall<T>(limiter: Limiter, timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return limiter.run(() => call(AbortSignal.timeout(timeoutMs)));
}

/** The parts of an SDK error that are safe to show. */
export interface ServiceFailure {
  /** Error class or service error code, e.g. `AccessDeniedException`, `ECONNREFUSED`. */
  readonly code: string;
  /** HTTP status, when the service answered. */
  readonly status: number | undefined;
  /** The service's or the network's message, shortened and scrubbed. */
  readonly message: string;
  /** True when the call was aborted by our time limit. */
  readonly timedOut: boolean;
}

/**
 * Extracts what may be shown of an SDK or network error. Only named string
 * and number fields are read; request and response objects (which hold the
 * data key in a wrap request) are never touched. Any encoding of `secret`
 * found in the message is replaced, in case a service echoes its input.
 */
export function serviceFailureOf(err: unknown, secret?: Uint8Array): ServiceFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const meta = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as Record<string, unknown>;
  const name = str(e.name) ?? 'Error';
  const timedOut = name === 'AbortError' || name === 'TimeoutError';
  // Azure RestError: code is the service's error code or a Node errno; AWS: name is the exception.
  const code = str(e.code) ?? str(e.Code) ?? name;
  const status = num(e.statusCode) ?? num(meta.httpStatusCode);
  let message = str(e.message) ?? (typeof err === 'string' ? err : '');
  if (message === 'UnknownError') message = ''; // the AWS SDK's placeholder when the service sent no message
  if (secret) message = scrub(message, secret);
  message = message.replace(/\s+/g, ' ').trim();
  if (message.length > 300) message = `${message.slice(0, 300)}…`;
  return { code, status, message, timedOut };
}

/** Replaces every hex, base64 and base64url encoding of `secret` in `text`. */
export function scrub(text: string, secret: Uint8Array): string {
  const b = Buffer.from(secret);
  const forms = [b.toString('hex'), b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
  let out = text;
  for (const f of forms) {
    if (f.length >= 8) out = out.split(f).join('[redacted]').split(f.toUpperCase()).join('[redacted]');
  }
  return out;
}

/** `CODE (HTTP 403): message` — the failure as one phrase for an error message. */
export function failureText(f: ServiceFailure, timeoutMs: number): string {
  if (f.timedOut) return `no answer within ${String(timeoutMs / 1000)} s`;
  const status = f.status === undefined ? '' : ` (HTTP ${String(f.status)})`;
  const msg = f.message && f.message !== f.code ? `: ${f.message}` : '';
  return `${f.code}${status}${msg}`;
}

/**
 * Error used as the `cause` of a provider error: the safe description only,
 * never the SDK error itself (its request would hold the data key).
 */
export function safeCause(f: ServiceFailure): ServiceError {
  return new ServiceError(f);
}

/** The safe description of a failed KMS call, with its parts kept for {@link fixedFailureText}. */
export class ServiceError extends Error {
  readonly status: number | undefined;
  readonly timedOut: boolean;
  readonly code: string;
  constructor(f: ServiceFailure) {
    super(`${f.code}${f.status === undefined ? '' : ` ${String(f.status)}`}: ${f.message}`);
    this.name = f.code;
    this.code = f.code;
    this.status = f.status;
    this.timedOut = f.timedOut;
  }
}

/**
 * The failure of a call as one of a few fixed phrases, with no text from the
 * network or the service other than an HTTP status: what the controller puts
 * in status, events and HTTP answers, where a hostile stanza must not learn
 * how a connection failed.
 */
export function fixedFailureText(cause: unknown): string {
  if (!(cause instanceof ServiceError)) return 'the call failed';
  if (cause.timedOut) return 'no answer in time';
  if (cause.status === undefined) return 'the key service could not be reached';
  if (cause.status === 401 || cause.status === 403) return `access denied (HTTP ${String(cause.status)})`;
  if (cause.status === 404) return 'key not found (HTTP 404)';
  return `the key service answered HTTP ${String(cause.status)}`;
}
