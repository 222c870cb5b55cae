// The one way tests assert a failure: a SealboxError with exactly this code
// (the code decides the CLI's exit status), a message that says what the test
// expects and, with `secrets`, repeats none of them (nor does any cause).
// Returns the error for further checks.
import { expect } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { SealboxError } from '../../src/errors.js';

/** What else a failure must (not) say. */
export interface FailureOptions {
  /** texts (plaintexts, markers) that neither the message nor any cause's message may contain */
  readonly secrets?: readonly string[];
}

function messages(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) out.push(e.message);
  return out;
}

function check(outcome: { threw: boolean; err: unknown }, code: ErrorCode, message: RegExp | string, o: FailureOptions): SealboxError {
  if (!outcome.threw) throw new Error(`expected a SealboxError ${code} matching ${String(message)}, but nothing was thrown`);
  const { err } = outcome;
  if (!(err instanceof SealboxError)) throw new Error(`expected a SealboxError ${code}, got ${String(err)}`, { cause: err });
  const want: unknown = typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message);
  expect({ code: err.code, message: err.message }).toEqual({ code, message: want });
  for (const secret of o.secrets ?? []) for (const m of messages(err)) expect(m).not.toContain(secret);
  return err;
}

const settle = async (p: PromiseLike<unknown>): Promise<{ threw: boolean; err: unknown }> =>
  Promise.resolve(p).then(() => ({ threw: false, err: undefined }), (err: unknown) => ({ threw: true, err }));

/**
 * Asserts that `subject` fails with a SealboxError whose code is exactly
 * `code` and whose message contains `message` (a string, as vitest's
 * `toThrow` reads one) or matches it (a RegExp). `subject` is a promise, a function returning one (awaited), or a
 * function that throws synchronously (checked at once). With `o.secrets`,
 * neither its message nor any cause's may contain one of them. Returns the error.
 * @throws {Error} (failing the test) when it succeeds, throws something else, or has another code or message
 */
export function expectSealboxError(
  subject: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode, message: RegExp | string, o?: FailureOptions,
): Promise<SealboxError>;
export function expectSealboxError(subject: () => unknown, code: ErrorCode, message: RegExp | string, o?: FailureOptions): SealboxError;
export function expectSealboxError(
  subject: Promise<unknown> | (() => unknown), code: ErrorCode, message: RegExp | string, o: FailureOptions = {},
): SealboxError | Promise<SealboxError> {
  if (typeof subject !== 'function') return settle(subject).then((r) => check(r, code, message, o));
  let result: unknown;
  try {
    result = subject();
  } catch (err) {
    return check({ threw: true, err }, code, message, o);
  }
  if (result instanceof Promise) return settle(result).then((r) => check(r, code, message, o));
  return check({ threw: false, err: undefined }, code, message, o);
}
