/**
 * What key holders do with unsealed Secrets besides writing manifests:
 * readable `stringData` (`unseal --decode`), a dotenv file
 * (`unseal --format env`) and the environment of a command (`sealbox exec`).
 */
import { SealboxError } from '../src/errors.js';
import { isObject } from '../src/format/object.js';

/** A name a process environment and a dotenv file can hold. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const secretsOf = (docs: readonly unknown[]): Record<string, unknown>[] =>
  docs.filter((d): d is Record<string, unknown> => isObject(d) && d.apiVersion === 'v1' && d.kind === 'Secret');

function dataOf(secret: Record<string, unknown>): [string, Buffer][] {
  const data = isObject(secret.data) ? secret.data : {};
  return Object.entries(data).map(([k, v]) => [k, Buffer.from(typeof v === 'string' ? v : '', 'base64')]);
}

function nameOf(secret: Record<string, unknown>): string {
  const meta = isObject(secret.metadata) ? secret.metadata : {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${ns}${typeof meta.name === 'string' ? meta.name : ''}`;
}

/**
 * Rewrites each Secret's base64 `data` as readable `stringData`. A value
 * that is not UTF-8 text (a keystore, a binary file) stays in `data`,
 * base64, so the manifest still applies to the same bytes.
 */
export function decodeSecrets(docs: readonly unknown[]): unknown[] {
  return docs.map((d) => {
    if (!secretsOf([d]).length || !isObject(d)) return d;
    const text: [string, string][] = [];
    const binary: [string, string][] = [];
    for (const [k, bytes] of dataOf(d)) {
      const s = utf8(bytes);
      if (s === undefined) binary.push([k, bytes.toString('base64')]);
      else text.push([k, s]);
    }
    const { data: _data, ...rest } = d;
    return {
      ...rest,
      ...(binary.length > 0 ? { data: Object.fromEntries(binary) } : {}),
      ...(text.length > 0 ? { stringData: Object.fromEntries(text) } : {}),
    };
  });
}

/**
 * The values of every Secret in `docs` as environment variables, by key
 * name. Throws SealboxError('INPUT') naming the key (never the value) for a
 * key that is not a valid variable name, a key two Secrets share, and a
 * value that is not UTF-8 text or holds a NUL byte.
 */
export function environmentOf(docs: readonly unknown[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const secret of secretsOf(docs)) {
    const what = `secret "${nameOf(secret)}"`;
    for (const [k, bytes] of dataOf(secret)) {
      if (!ENV_NAME.test(k)) {
        throw new SealboxError('INPUT', `${what}: key "${k.slice(0, 100)}" is not a valid environment variable name (letters, digits, _; not starting with a digit); use --format yaml or --decode instead`);
      }
      if (env.has(k)) throw new SealboxError('INPUT', `${what}: key "${k}" is also in another secret of the input; unseal them separately`);
      const s = utf8(bytes);
      if (s === undefined || s.includes('\0')) {
        throw new SealboxError('INPUT', `${what}: value "${k}" is binary (not UTF-8 text, or has a NUL byte) and cannot be an environment variable; use --format yaml`);
      }
      env.set(k, s);
    }
  }
  return env;
}

/**
 * A dotenv file of `env`: `KEY=value`, single-quoted (POSIX shell quoting,
 * `'\''` for a quote) unless the value holds only characters no shell or
 * dotenv reader treats specially. `set -a; . ./file` loads it in sh.
 */
export function toDotenv(env: ReadonlyMap<string, string>): string {
  const lines = [...env].map(([k, v]) => (/^[A-Za-z0-9_./:@%+,=-]*$/.test(v) ? `${k}=${v}` : `${k}='${v.replace(/'/g, `'\\''`)}'`));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
