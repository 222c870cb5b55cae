/**
 * The value level of sops' format (getsops/sops v3, aes/cipher.go and
 * sops.go): `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` values opened with
 * the file's data key and the value's path as additional data, and the text
 * each leaf contributes to the file's MAC, as Go's yaml.v3 and sops'
 * `ToBytes` make it. Pure: node:crypto and yaml only.
 */
import { createDecipheriv } from 'node:crypto';
import type { Scalar } from 'yaml';
import { SealboxError, quote } from '../errors.js';

/** The types sops writes into `type:` of an encrypted value. */
export type SopsValueType = 'str' | 'int' | 'float' | 'bool' | 'bytes' | 'time' | 'comment';

/** An opened sops value: its type and its plaintext bytes (what the MAC hashes). */
export interface SopsPlain {
  readonly type: SopsValueType;
  readonly bytes: Uint8Array;
}

const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const TYPES = new Set<string>(['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when `text` has the shape of a sops-encrypted value. */
export function isSopsEncrypted(text: string): boolean {
  return ENC.test(text);
}

/**
 * Opens one sops value with the data key; `additionalData` is the value's
 * path joined by ":" with a trailing ":" (sops.go). Returns the empty string
 * value for "" (sops leaves empty values unencrypted). Throws
 * SealboxError('INPUT') for a value that is not in sops' format and
 * SealboxError('TAMPERED') when it does not authenticate.
 */
export function openSopsValue(text: string, dataKey: Uint8Array, additionalData: string, what: string): SopsPlain {
  if (text === '') return { type: 'str', bytes: new Uint8Array(0) };
  const m = ENC.exec(text);
  if (m === null) throw new SealboxError('INPUT', `${what}: value at ${quote(additionalData)} is not encrypted in sops' format; the file was edited by hand or is not a sops file`);
  const [data, iv, tag, type] = [m[1] ?? '', m[2] ?? '', m[3] ?? '', m[4] ?? ''];
  if (!TYPES.has(type) || ![data, iv, tag].every((p) => BASE64.test(p))) {
    throw new SealboxError('INPUT', `${what}: value at ${quote(additionalData)} is malformed (sops' ENC[…] with unknown type or bad base64)`);
  }
  const ivBytes = Buffer.from(iv, 'base64');
  const tagBytes = Buffer.from(tag, 'base64');
  if (ivBytes.length === 0 || tagBytes.length !== 16) {
    throw new SealboxError('INPUT', `${what}: value at ${quote(additionalData)} has an empty iv or a tag that is not 16 bytes`);
  }
  try {
    const d = createDecipheriv('aes-256-gcm', dataKey, ivBytes, { authTagLength: 16 });
    d.setAAD(Buffer.from(additionalData, 'utf8'));
    d.setAuthTag(tagBytes);
    const bytes = Buffer.concat([d.update(Buffer.from(data, 'base64')), d.final()]);
    return { type: type as SopsValueType, bytes: new Uint8Array(bytes) };
  } catch {
    throw new SealboxError('TAMPERED', `${what}: value at ${quote(additionalData)} does not authenticate with the file's data key: it was altered or moved; take the file from Git again`);
  }
}

/**
 * Returns the JSON value an opened sops value stands for: text for str,
 * bytes and time, a number for int and float, a boolean for bool. Throws
 * SealboxError('INPUT') for plaintext that its type cannot hold.
 */
export function sopsPlainValue(p: SopsPlain, path: string, what: string): string | number | boolean {
  const text = Buffer.from(p.bytes).toString('utf8');
  switch (p.type) {
    case 'int':
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new SealboxError('INPUT', `${what}: value at ${quote(path)} is typed ${p.type} but is not a number`);
      return n;
    }
    case 'bool':
      if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(text)) throw new SealboxError('INPUT', `${what}: value at ${quote(path)} is typed bool but is not one`);
      return /^(1|t|T|TRUE|true|True)$/.test(text);
    default:
      return text;
  }
}

const GO_NULL = new Set(['', '~', 'null', 'Null', 'NULL']);
const GO_BOOL = new Map([['true', 'True'], ['True', 'True'], ['TRUE', 'True'], ['false', 'False'], ['False', 'False'], ['FALSE', 'False']]);
const GO_INT = /^[-+]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$/;
const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_TIME = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|$)/;

/**
 * The bytes an unencrypted scalar adds to sops' MAC: the text of the value
 * Go's yaml.v3 decodes it to, as sops' `ToBytes` prints it; undefined for
 * null (not hashed). Throws SealboxError('INPUT') for the forms whose Go
 * text we do not reproduce (plain timestamps, special floats).
 */
export function goScalarText(node: Scalar, path: string, what: string): string | undefined {
  const source = typeof node.source === 'string' ? node.source : String(node.value);
  const quoted = node.type !== 'PLAIN' && node.type !== undefined;
  if (quoted || node.tag === 'tag:yaml.org,2002:str') return String(node.value);
  if (node.tag !== undefined) throw unsupported(path, what, `the tag ${node.tag}`);
  if (GO_NULL.has(source)) return undefined;
  const bool = GO_BOOL.get(source);
  if (bool !== undefined) return bool;
  if (GO_TIME.test(source)) throw unsupported(path, what, 'an unquoted timestamp');
  const plain = source.replace(/_/g, '');
  if (GO_INT.test(source)) {
    const n = goInt(plain);
    if (n !== undefined) return n.toString();
  }
  if (GO_FLOAT.test(plain)) return goFloatText(Number(plain));
  if (/^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(source)) throw unsupported(path, what, 'a special float');
  return source;
}

/** Go's strconv.ParseInt(s, 0, 64) (then ParseUint), or undefined when it fails. */
function goInt(s: string): bigint | undefined {
  const neg = s.startsWith('-');
  const body = s.replace(/^[-+]/, '');
  let digits = body;
  let radix = 10;
  if (/^0[xX]/.test(body)) [digits, radix] = [body.slice(2), 16];
  else if (/^0[bB]/.test(body)) [digits, radix] = [body.slice(2), 2];
  else if (/^0[oO]/.test(body)) [digits, radix] = [body.slice(2), 8];
  else if (/^0[0-7]+$/.test(body)) [digits, radix] = [body.slice(1), 8];
  else if (!/^[0-9]+$/.test(body)) return undefined;
  if (digits === '') return undefined;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  const v = BigInt(prefix + digits) * (neg ? -1n : 1n);
  return v >= -(2n ** 63n) && v < 2n ** 64n ? v : undefined;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent. */
function goFloatText(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return BigInt(v).toString();
  const s = String(v);
  if (!/e/i.test(s)) return s;
  // Shortest round-trip digits and exponent from JS, written out without an exponent.
  const m = /^(-?)(\d)(?:\.(\d+))?e([-+]\d+)$/.exec(v.toExponential()) ?? [];
  const [sign = '', lead = '', rest = '', exp = '0'] = [m[1], m[2], m[3], m[4]];
  const digits = lead + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  return point >= digits.length ? sign + digits + '0'.repeat(point - digits.length) : `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function unsupported(path: string, what: string, form: string): SealboxError {
  return new SealboxError('INPUT', `${what}: the unencrypted value at ${quote(path)} is ${form}, whose bytes in sops' MAC sealbox does not reproduce; quote it, re-encrypt the file with sops, and convert again`);
}
